package workload

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

func TestGrayZipfMatchesTheExactDistribution(t *testing.T) {
	for _, theta := range []float64{0.5, 0.8, 0.99, 1.2} {
		t.Run(fmt.Sprintf("theta %v draws ranks with Zipf frequencies", theta), func(t *testing.T) {
			const n, draws = 1000, 400_000
			z, err := NewZipf(sim.NewRand(7, "zipf"), n, theta)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]float64, n)
			for range draws {
				r := z.Next()
				if r < 0 || r >= n {
					t.Fatalf("rank %d outside [0, %d)", r, n)
				}
				counts[r]++
			}
			exact, _ := ZipfWeights(n, theta)
			// Ranks 0 and 1 are exact in Gray's method; the head (top 10)
			// and the top half are close.
			for _, c := range []struct {
				name   string
				lo, hi int
				tol    float64
			}{{"rank 0", 0, 1, 0.01}, {"rank 1", 1, 2, 0.01}, {"top 10", 0, 10, 0.02}, {"top half", 0, n / 2, 0.02}} {
				got, want := 0.0, 0.0
				for r := c.lo; r < c.hi; r++ {
					got += counts[r] / draws
					want += exact[r]
				}
				if math.Abs(got-want) > c.tol {
					t.Errorf("%s share = %.4f, exact Zipf(%v) = %.4f (tolerance %v)", c.name, got, theta, want, c.tol)
				}
			}
		})
	}
}

func TestAliasDrawsInProportionToWeights(t *testing.T) {
	weights := []float64{1, 0, 3, 6, 0.5, 9.5}
	a, err := NewAlias(weights)
	if err != nil {
		t.Fatal(err)
	}
	rng := sim.NewRand(1, "alias")
	const draws = 1_000_000
	counts := make([]float64, len(weights))
	for range draws {
		counts[a.Pick(rng.Uint64())]++
	}
	for i, w := range weights {
		want := w / 20
		if got := counts[i] / draws; math.Abs(got-want) > 0.003 {
			t.Errorf("index %d drawn %.4f of the time, want %.4f", i, got, want)
		}
	}
	if counts[1] != 0 {
		t.Errorf("a zero weight was drawn %v times", counts[1])
	}
}

func TestWorkloadIsSeededAndSkewed(t *testing.T) {
	c := Default()
	c.Customers = 10_000
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(c)
	if !slices.Equal(a.Rates(), b.Rates()) {
		t.Fatal("same config, different rates")
	}
	c.Seed = 2
	d, _ := New(c)
	if slices.Equal(a.Rates(), d.Rates()) {
		t.Fatal("different seeds dealt the same rates")
	}
	total := 0.0
	for _, r := range a.Rates() {
		total += r
	}
	if math.Abs(total-c.Rate)/c.Rate > 1e-9 {
		t.Errorf("rates sum to %v, want %v", total, c.Rate)
	}
	top, _ := a.ByRank(0)
	second, _ := a.ByRank(1)
	r0, _ := a.Rate(top)
	r1, _ := a.Rate(second)
	if ratio := r0 / r1; math.Abs(ratio-math.Pow(2, c.Zipf)) > 1e-9 {
		t.Errorf("rank 1 / rank 2 rate = %v, want 2^%v", ratio, c.Zipf)
	}
	s1, s2 := a.Stream("x"), a.Stream("x")
	for range 100 {
		if s1.Next() != s2.Next() {
			t.Fatal("two streams with the same name differ")
		}
	}
}

func TestBadConfigsAndInputsAreErrors(t *testing.T) {
	mut := []struct {
		name string
		f    func(*Config)
	}{
		{"zero customers", func(c *Config) { c.Customers = 0 }},
		{"negative rate", func(c *Config) { c.Rate = -1 }},
		{"NaN zipf", func(c *Config) { c.Zipf = math.NaN() }},
		{"negative zipf", func(c *Config) { c.Zipf = -0.5 }},
		{"zero retention", func(c *Config) { c.Retention = 0 }},
		{"zero point size", func(c *Config) { c.PointBytes = 0 }},
	}
	for _, m := range mut {
		t.Run(m.name+" is an error", func(t *testing.T) {
			c := Default()
			m.f(&c)
			if _, err := New(c); err == nil {
				t.Errorf("New(%+v) returned no error", c)
			}
		})
	}
	t.Run("bad zipf and alias inputs are errors", func(t *testing.T) {
		rng := sim.NewRand(1, "x")
		for _, c := range []struct {
			n     int
			theta float64
		}{{0, 0.9}, {10, 0}, {10, 1}, {10, math.NaN()}} {
			if _, err := NewZipf(rng, c.n, c.theta); err == nil {
				t.Errorf("NewZipf(n=%d, theta=%v) returned no error", c.n, c.theta)
			}
		}
		if _, err := NewZipf(nil, 10, 0.5); err == nil {
			t.Error("NewZipf(nil rng) returned no error")
		}
		for _, w := range [][]float64{nil, {0, 0}, {1, -1}, {math.Inf(1)}} {
			if _, err := NewAlias(w); err == nil {
				t.Errorf("NewAlias(%v) returned no error", w)
			}
		}
		wl, _ := New(Config{Seed: 1, Customers: 3, Rate: 1, Retention: time.Hour, PointBytes: 1})
		if _, err := wl.Rate(3); err == nil {
			t.Error("Rate(3) of 3 customers returned no error")
		}
		if _, err := wl.ByRank(-1); err == nil {
			t.Error("ByRank(-1) returned no error")
		}
	})
}

func ExampleZipfWeights() {
	// With YCSB's skew over 100K customers, the busiest customer alone sends
	// about 8% of all events, and the top 1% of customers about 60%.
	w, _ := ZipfWeights(100_000, 0.99)
	top1pct := 0.0
	for _, x := range w[:1000] {
		top1pct += x
	}
	fmt.Printf("busiest: %.1f%%, top 1%%: %.0f%%\n", 100*w[0], 100*top1pct)
	// Output: busiest: 7.8%, top 1%: 60%
}

func BenchmarkDraw(b *testing.B) {
	wl, err := New(Default())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("alias", func(b *testing.B) {
		s := wl.Stream("bench")
		sum := 0
		for b.Loop() {
			sum += s.Next()
		}
		_ = sum
	})
	b.Run("gray", func(b *testing.B) {
		z, _ := NewZipf(sim.NewRand(1, "bench"), 100_000, 0.99)
		sum := 0
		for b.Loop() {
			sum += z.Next()
		}
		_ = sum
	})
}

package tail

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestSimulateIsDeterministicForASeed(t *testing.T) {
	c := Default()
	a, err := Simulate(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(c)
	if !slices.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	c.Seed = 2
	d, _ := Simulate(c)
	if slices.Equal(a, d) {
		t.Fatal("different seeds gave identical runs")
	}
}

func TestFanOutRaisesTheMedianToTheTail(t *testing.T) {
	p999 := func(k int) float64 {
		c := Default()
		c.FanOut = k
		v, err := Simulate(c)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(v)
		return v[len(v)*999/1000]
	}
	median := func(k int) float64 {
		c := Default()
		c.FanOut = k
		v, _ := Simulate(c)
		slices.Sort(v)
		return v[len(v)/2]
	}
	// With 1% slow responses, one server's median is fast; with 100 servers
	// a request meets a slow one 63% of the time, so its median is slow.
	if m1, m100 := median(1), median(100); !(m100 > 5*m1) {
		t.Errorf("median at fan-out 100 = %.1f ms, at fan-out 1 = %.1f ms; want the first > 5x the second", m100, m1)
	}
	if p999(1) < 50 {
		t.Errorf("p99.9 at fan-out 1 = %.1f ms; want it in the slow mode (>= 50 ms)", p999(1))
	}
}

func TestSlowRequestChanceMatchesSimulation(t *testing.T) {
	for _, k := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("fan-out %d", k), func(t *testing.T) {
			c := Default()
			c.FanOut, c.Spread, c.Requests = k, 0, 50000
			v, _ := Simulate(c)
			slow := 0
			for _, x := range v {
				if x > c.MedianMS*2 {
					slow++
				}
			}
			want, _ := SlowRequestChance(c.SlowProb, k)
			got := float64(slow) / float64(len(v))
			if math.Abs(got-want) > 0.02 {
				t.Errorf("fraction of slow requests = %.3f, formula says %.3f", got, want)
			}
		})
	}
}

func TestInvalidConfigsAreRejected(t *testing.T) {
	base := Default()
	tests := []struct {
		name string
		mut  func(*Config)
	}{
		{"zero requests", func(c *Config) { c.Requests = 0 }},
		{"zero fan-out", func(c *Config) { c.FanOut = 0 }},
		{"negative median", func(c *Config) { c.MedianMS = -1 }},
		{"NaN spread", func(c *Config) { c.Spread = math.NaN() }},
		{"slow probability of 1", func(c *Config) { c.SlowProb = 1 }},
		{"slow factor below 1", func(c *Config) { c.SlowFactor = 0.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error", func(t *testing.T) {
			c := base
			tt.mut(&c)
			if _, err := Simulate(c); err == nil {
				t.Errorf("Simulate(%+v) returned no error", c)
			}
		})
	}
}

func ExampleSlowRequestChance() {
	for _, k := range []int{1, 10, 100} {
		p, _ := SlowRequestChance(0.01, k)
		fmt.Printf("fan-out %3d: %.0f%% of requests meet a slow server\n", k, 100*p)
	}
	// Output:
	// fan-out   1: 1% of requests meet a slow server
	// fan-out  10: 10% of requests meet a slow server
	// fan-out 100: 63% of requests meet a slow server
}

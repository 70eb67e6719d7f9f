package lab

import (
	"math"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/hot"
	solution "github.com/dsgym/dsgym/solutions/shard"
)

// notebookCharts computes every chart of notebooks/04-sharding with the
// notebook's parameters.
func notebookCharts(t testing.TB) {
	if _, err := Balance(DefaultBalance()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Movement(DefaultMovement()); err != nil {
		t.Fatal(err)
	}
	if _, err := Rebalancing(DefaultRebalance()); err != nil {
		t.Fatal(err)
	}
	if _, err := Migration(DefaultMigration()); err != nil {
		t.Fatal(err)
	}
	if _, err := Salting(DefaultSalting()); err != nil {
		t.Fatal(err)
	}
	if _, err := FanOutCost(DefaultFanOut()); err != nil {
		t.Fatal(err)
	}
	for range 2 { // Claim 5, and again in the detector exercise
		if _, err := HotDetection(DefaultHot(), solution.NewDetector); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := JumpMovement(solution.Jump, 50_000, 2, 24); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RangeTouches(RangeWindows()); err != nil {
		t.Fatal(err)
	}
	if _, err := Storage(DefaultStorage()); err != nil {
		t.Fatal(err)
	}
	rates := []float64{1e6, 2e6, 5e6, 10e6, 20e6, 50e6, 100e6}
	if _, err := PlanSweep(SeedDemand(), rates); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkNotebookCharts times all the notebook's chart computations
// together: the budget is 5 s warm.
func BenchmarkNotebookCharts(b *testing.B) {
	notebookCharts(b) // warm
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		notebookCharts(b)
		worst = max(worst, time.Since(start))
	}
	budget.AtMost(b, "s", worst.Seconds(), 5)
}

func TestExperimentsAreDeterministic(t *testing.T) {
	a, _ := Salting(DefaultSalting())
	b, _ := Salting(DefaultSalting())
	for i := range a.After {
		if a.After[i] != b.After[i] || a.Before[i] != b.Before[i] {
			t.Fatalf("two runs of the salting experiment differ on shard %d", i)
		}
	}
	h1, _ := HotDetection(DefaultHot(), solution.NewDetector)
	h2, _ := HotDetection(DefaultHot(), solution.NewDetector)
	for i := range h1.EstRate {
		if h1.EstRate[i] != h2.EstRate[i] || h1.Salts[i] != h2.Salts[i] {
			t.Fatalf("two runs of the detection experiment differ at slot %d", i)
		}
	}
}

func TestSaltingFlattensTheHotShard(t *testing.T) {
	r, err := Salting(DefaultSalting())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before: %v; after: %v; salted %d customers", r.BeforeSkew, r.AfterSkew, len(r.Salted))
	if !(r.BeforeSkew.MaxOverMean > 1.5) {
		t.Errorf("without salting max/mean = %.3f; the seed's Zipf traffic should make one shard hot (> 1.5)", r.BeforeSkew.MaxOverMean)
	}
	// What is left comes from the many medium customers hashed onto 10
	// shards, which salting the hottest ones does not change.
	if !(r.AfterSkew.MaxOverMean < 1.3 && r.AfterSkew.MaxOverMean < r.BeforeSkew.MaxOverMean-0.25) {
		t.Errorf("with salting max/mean = %.3f (before %.3f), want < 1.3 and 0.25 lower", r.AfterSkew.MaxOverMean, r.BeforeSkew.MaxOverMean)
	}
	sum := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	}
	if math.Abs(sum(r.Before)-sum(r.After)) > 1e-6*sum(r.Before) {
		t.Errorf("salting changed the total load: %v -> %v", sum(r.Before), sum(r.After))
	}
}

func TestDetectorRaisesThenLowersTheSaltFactor(t *testing.T) {
	c := DefaultHot()
	tl, err := HotDetection(c, solution.NewDetector)
	if err != nil {
		t.Fatal(err)
	}
	at := func(sec float64) float64 {
		for i, x := range tl.T {
			if x >= sec {
				return tl.Salts[i]
			}
		}
		return tl.Salts[len(tl.Salts)-1]
	}
	if at(25) != 1 {
		t.Errorf("before heating up, %s has %v salts, want 1", tl.Customer, at(25))
	}
	if at(100) < 4 {
		t.Errorf("at its peak (%.0f events/s), %s has %v salts, want >= 4", c.HeatPeak, tl.Customer, at(100))
	}
	if at(170) != 1 {
		t.Errorf("50 s after cooling down, %s still has %v salts", tl.Customer, at(170))
	}
	worstSalted, worstUnsalted := 0.0, 0.0
	for i, x := range tl.T {
		if x > 70 && x < 120 {
			worstSalted = max(worstSalted, tl.Salted[i])
			worstUnsalted = max(worstUnsalted, tl.Unsalted[i])
		}
	}
	if !(worstSalted < worstUnsalted) {
		t.Errorf("at the peak the salted busiest shard is %.2f x the mean, unsalted %.2f: salting should help", worstSalted, worstUnsalted)
	}
	// Reads across the whole timeline must visit the largest factor used.
	k, err := tl.Table.Span(tl.Customer, Epoch, Epoch.Add(c.Duration))
	if err != nil || k < 4 {
		t.Errorf("Span over the run = %d, %v; want the peak factor", k, err)
	}
}

// cumulative is a detector that never forgets: Tick does nothing.
type cumulative struct{ hot.Detector }

func (cumulative) Tick() {}

func TestANeverCoolingDetectorKeepsTheSalts(t *testing.T) {
	stuck := func(cfg hot.Config) (hot.Detector, error) {
		d, err := solution.NewDetector(cfg)
		return cumulative{d}, err
	}
	tl, err := HotDetection(DefaultHot(), stuck)
	if err != nil {
		t.Fatal(err)
	}
	if last := tl.Salts[len(tl.Salts)-1]; last < 2 {
		t.Errorf("a detector that never forgets lowered the factor to %v; the experiment cannot tell it from a good one", last)
	}
}

func TestMigrationKeepsReadsCorrectAndMovesWhatItMust(t *testing.T) {
	c := DefaultMigration()
	c.Workload.Customers = 20_000
	series, err := Migration(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range series {
		if s.Stale != 0 {
			t.Errorf("%v: %d of %d reads missed the latest write", s.Spec, s.Stale, s.Reads)
		}
		final := s.Copied[len(s.Copied)-1]
		switch s.Spec.Scheme {
		case shard.Modulo:
			if final < 0.5 {
				t.Errorf("modulo copied %.3f of the bytes; it should move most of them", final)
			}
		default:
			if final > 0.3 {
				t.Errorf("%v copied %.3f of the bytes; a consistent scheme moves about 1/11 (hot customers skew it)", s.Spec, final)
			}
		}
	}
}

func TestStorageStaysBetweenExactAndOneBucketMore(t *testing.T) {
	r, err := Storage(DefaultStorage())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Series {
		for i := range r.Days {
			if s.Bytes[i] < r.Exact[i]-1 {
				t.Fatalf("%v buckets hold %v bytes at day %.2f, less than the exact %v", s.Bucket, s.Bytes[i], r.Days[i], r.Exact[i])
			}
		}
	}
	if !(r.OverheadAtSteadyState[0] < r.OverheadAtSteadyState[1]) {
		t.Errorf("hourly overhead %.4f should be below daily %.4f", r.OverheadAtSteadyState[0], r.OverheadAtSteadyState[1])
	}
}

func TestJumpMovementRejectsABrokenJump(t *testing.T) {
	outOfRange := func(k uint64, n int) (int, error) { return n, nil }
	if _, err := JumpMovement(outOfRange, 100, 2, 4); err == nil {
		t.Error("a jump returning n drew a chart")
	}
	r, err := JumpMovement(solution.Jump, 20_000, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range r.N {
		if math.Abs(r.Jump[i]-r.Ideal[i]) > 0.1*r.Ideal[i] {
			t.Errorf("N=%v: jump moved %.4f, ideal %.4f", n, r.Jump[i], r.Ideal[i])
		}
	}
}

func TestRangeTouchesCountsBuckets(t *testing.T) {
	h, d, err := RangeTouches([]float64{0.25, 72})
	if err != nil {
		t.Fatal(err)
	}
	// From 13:20: 15 minutes is one hourly and one daily bucket; 72 hours
	// end at 13:20 three days later: 73 hourly buckets, 4 daily ones.
	if h[0] != 1 || d[0] != 1 || h[1] != 73 || d[1] != 4 {
		t.Errorf("RangeTouches = %v hourly, %v daily; want [1 73] and [1 4]", h, d)
	}
}

func TestBadConfigsAreErrors(t *testing.T) {
	bad := []struct {
		name string
		err  func() error
	}{
		{"balance with no scheme", func() error { _, err := Balance(BalanceConfig{Customers: 10, Shards: 2}); return err }},
		{"balance with zero shards", func() error { c := DefaultBalance(); c.Shards = 0; _, err := Balance(c); return err }},
		{"movement from 0", func() error { c := DefaultMovement(); c.From = 0; _, _, err := Movement(c); return err }},
		{"rebalance removing the last shard as the middle one", func() error { c := DefaultRebalance(); c.Remove = 9; _, err := Rebalancing(c); return err }},
		{"fan-out with salt factor 0", func() error { c := DefaultFanOut(); c.Salts = []int{0}; _, err := FanOutCost(c); return err }},
		{"hot with no detector", func() error { _, err := HotDetection(DefaultHot(), nil); return err }},
		{"hot with sample 0", func() error {
			c := DefaultHot()
			c.Sample = 0
			_, err := HotDetection(c, solution.NewDetector)
			return err
		}},
		{"storage with shares not summing to 1", func() error { c := DefaultStorage(); c.Tiers[0].Share = 0.9; _, err := Storage(c); return err }},
		{"salting with a bad policy", func() error { c := DefaultSalting(); c.Policy.PerSalt = 0; _, err := Salting(c); return err }},
	}
	for _, b := range bad {
		t.Run(b.name+" is an error", func(t *testing.T) {
			if b.err() == nil {
				t.Error("no error")
			}
		})
	}
}

package shuffle

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
)

// wide is a stage of 10,000 reduce tasks over 32 map tasks, AQE off so
// that every partition is a task, on 32 executors of 4 cores, speculation
// on.
func wide() Config {
	c := Default()
	c.MapTasks, c.ShufflePartitions = 32, 10_000
	c.AQE.Enabled = false
	c.Cluster.Executors = 32
	c.Speculation.Enabled = true
	return c
}

// BenchmarkSimulator is the simulator's budgets: its event loop runs at
// least 1M task events (launches and ends) per second, and a job with a
// 10,000-task stage is simulated in at most 50 ms of wall time, planning
// (hashing 100,000 keys into the shuffle) and the 32-task map stage
// included. The loop's rate is timed apart from planning, after a GC that
// collects the plan's garbage (the GC itself is not counted). The
// simulator is one goroutine: the budget is measured with GOMAXPROCS=1,
// and the rate with the default GOMAXPROCS is printed beside it.
func BenchmarkSimulator(b *testing.B) {
	c := wide()
	if _, _, _, err := simRound(c); err != nil { // warm-up round, not counted
		b.Fatal(err)
	}
	var rates, walls, plans, shared []float64
	for b.Loop() {
		for range 7 {
			// Interleaved: one round on one core, one with the default
			// GOMAXPROCS, where the concurrent GC's work on the other core
			// of this 2-core machine slows the loop down by up to 2x.
			prev := runtime.GOMAXPROCS(1)
			rate, wall, plan, err := simRound(c)
			runtime.GOMAXPROCS(prev)
			if err != nil {
				b.Fatal(err)
			}
			rates, walls, plans = append(rates, rate), append(walls, wall), append(plans, plan)
			rate, _, _, err = simRound(c)
			if err != nil {
				b.Fatal(err)
			}
			shared = append(shared, rate)
		}
	}
	rm, rs := budget.Spread(rates)
	wm, ws := budget.Spread(walls)
	_, ps := budget.Spread(plans)
	_, ss := budget.Spread(shared)
	b.Logf("10,000-task stage, GOMAXPROCS=1: event loop %s task events/s; job %s ms, of which planning %s ms; default GOMAXPROCS: %s task events/s", rs, ws, ps, ss)
	budget.AtLeast(b, "task-events/s", rm, 1_000_000)
	budget.AtMost(b, "ms-per-10k-task-job", wm, 50)
}

// simRound plans and runs c once and returns the event loop's rate, the
// job's wall time and the planning time (ms).
func simRound(c Config) (rate, wall, plan float64, err error) {
	start := time.Now()
	if err := c.Validate(); err != nil {
		return 0, 0, 0, err
	}
	pl, err := c.build()
	if err != nil {
		return 0, 0, 0, err
	}
	planDone := time.Now()
	runtime.GC() // the plan's garbage is not the loop's to collect
	planned := time.Now()
	r, err := newEngine(c, pl).run()
	if err != nil {
		return 0, 0, 0, err
	}
	end := time.Now()
	if got := len(r.Successful("reduce")); got != 10_000 {
		return 0, 0, 0, fmt.Errorf("%d reduce tasks, want 10,000", got)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return float64(r.Events) / end.Sub(planned).Seconds(), ms(planDone.Sub(start) + end.Sub(planned)), ms(planDone.Sub(start)), nil
}

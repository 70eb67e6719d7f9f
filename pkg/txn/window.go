package txn

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

// WindowPoint summarises the sagas of one failure point at one per-hop
// latency.
type WindowPoint struct {
	// FailAt is the step that refused ("" when none did).
	FailAt string
	Hop    time.Duration
	Runs   int
	// Window is the median window of inconsistency: first effect visible
	// to outcome final.
	Window time.Duration
	// Latency is the median time from start to outcome.
	Latency time.Duration
	// Compensations is the mean number of compensating effects per saga.
	Compensations float64
	// Messages is the mean number of messages per saga.
	Messages float64
	// Violations counts sagas the outcome checker rejected.
	Violations int
}

// SagaWindows runs runs sagas (seed cfg.Seed+i) for every failure point and
// every per-hop latency, and measures the window of inconsistency and what
// each failure costs. failAts may include "" (no failure).
func SagaWindows(cfg saga.Config, failAts []string, hops []time.Duration, runs, workers int) ([]WindowPoint, error) {
	if runs < 1 {
		return nil, fmt.Errorf("txn: runs must be at least 1, got %d", runs)
	}
	if len(failAts) == 0 {
		return nil, fmt.Errorf("txn: no failure points given")
	}
	if err := checkDurations("hop latency", hops, true); err != nil {
		return nil, err
	}
	for _, f := range failAts {
		c := cfg
		c.FailAt = f
		if err := c.Validate(); err != nil {
			return nil, err
		}
	}
	type one struct {
		window, latency time.Duration
		comps, msgs     int
		bad             bool
	}
	all := make([]one, len(failAts)*len(hops)*runs)
	errs := make([]error, len(all))
	parallel(len(all), workers, func(k int) {
		i, rest := k/(len(hops)*runs), k%(len(hops)*runs)
		h, r := rest/runs, rest%runs
		c := cfg
		c.FailAt = failAts[i]
		c.Seed = cfg.Seed + uint64(r)
		c.Link.Latency, c.Link.Jitter = hops[h], hops[h]/4
		c.Timeout = max(c.Timeout, 10*hops[h])
		c.Trace = 0
		res, err := saga.Run(c)
		if err != nil {
			errs[k] = err
			return
		}
		s := res.Sagas[0]
		all[k] = one{window: s.Window(), latency: s.Latency(), comps: s.Compensations(), msgs: res.Messages.Sent, bad: len(res.Violations()) > 0}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var out []WindowPoint
	for i, f := range failAts {
		for h, hop := range hops {
			p := WindowPoint{FailAt: f, Hop: hop, Runs: runs}
			var win, lat []float64
			comps, msgs := 0, 0
			for r := 0; r < runs; r++ {
				o := all[(i*len(hops)+h)*runs+r]
				win, lat = append(win, float64(o.window)), append(lat, float64(o.latency))
				comps += o.comps
				msgs += o.msgs
				if o.bad {
					p.Violations++
				}
			}
			p.Window, p.Latency = durPct(win, 50), durPct(lat, 50)
			p.Compensations, p.Messages = float64(comps)/float64(runs), float64(msgs)/float64(runs)
			out = append(out, p)
		}
	}
	return out, nil
}

// LockHoldVsHop runs one failure-free 2PC transaction per per-hop latency
// and returns the longest time a participant held its locks: 2PC's
// counterpart of a saga's window (nothing is visible early, but the rows
// are locked).
func LockHoldVsHop(cfg twopc.Config, hops []time.Duration) ([]time.Duration, error) {
	if err := checkDurations("hop latency", hops, true); err != nil {
		return nil, err
	}
	out := make([]time.Duration, len(hops))
	for i, h := range hops {
		c := cfg
		c.Link.Latency, c.Link.Jitter = h, h/4
		c.Crashes = nil
		r, err := twopc.Run(c)
		if err != nil {
			return nil, err
		}
		out[i] = r.MaxLockHeld()
	}
	return out, nil
}

// FaultStudy is the result of [SagaFaults].
type FaultStudy struct {
	Runs        int
	Completed   int
	Compensated int
	Unfinished  int
	// Parked counts sagas parked at least once for reconciliation.
	Parked int
	// Violations counts sagas (runs) the outcome checker rejected, by the
	// first sentence's kind; FirstViolation is the first one, with its seed.
	Violations     int
	FirstViolation string
	// Double counts effects that happened twice (duplicate charges,
	// refunds, releases).
	Double int
	// P50, P99 and Max are the latencies from start to outcome.
	P50, P99, Max time.Duration
	Messages      float64 // mean per saga
}

// FaultPlan says which faults [SagaFaults] injects in each run.
type FaultPlan struct {
	// FailAt: a step drawn uniformly from these refuses ("" means none);
	// empty means the configuration's FailAt.
	FailAt []string
	// CrashNodes: one node drawn from these crashes at a random step
	// (0..MaxStep) for a random downtime up to MaxDowntime; empty means no
	// crash.
	CrashNodes  []string
	MaxStep     int
	MaxDowntime time.Duration
}

// SagaFaults runs runs sagas (seed cfg.Seed+i, with cfg's link loss,
// duplication and compensation failures) under the plan's faults, and
// checks each with the outcome checker.
func SagaFaults(cfg saga.Config, plan FaultPlan, runs, workers int) (*FaultStudy, error) {
	if runs < 1 {
		return nil, fmt.Errorf("txn: runs must be at least 1, got %d", runs)
	}
	if plan.MaxStep < 0 || plan.MaxDowntime < 0 {
		return nil, fmt.Errorf("txn: MaxStep and MaxDowntime must not be negative")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	type one struct {
		outcome  saga.Outcome
		parked   bool
		lat      time.Duration
		msgs     int
		double   int
		violated string
	}
	all := make([]one, runs)
	errs := make([]error, runs)
	parallel(runs, workers, func(i int) {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		c.Trace = 0
		rng := sim.NewRand(c.Seed, "txn/saga-faults")
		if len(plan.FailAt) > 0 {
			c.FailAt = plan.FailAt[rng.IntN(len(plan.FailAt))]
		}
		if len(plan.CrashNodes) > 0 {
			node := plan.CrashNodes[rng.IntN(len(plan.CrashNodes))]
			c.Crashes = []fault.Crash{fault.After(node, rng.IntN(plan.MaxStep+1), time.Duration(rng.Int64N(int64(plan.MaxDowntime)+1)))}
		}
		res, err := saga.Run(c)
		if err != nil {
			errs[i] = err
			return
		}
		s := res.Sagas[0]
		o := one{outcome: s.Outcome, parked: s.Parked > 0, lat: s.Latency(), msgs: res.Messages.Sent}
		for k := range s.DoCount {
			o.double += max(0, s.DoCount[k]-1) + max(0, s.UndoCount[k]-1)
		}
		if v := res.Violations(); len(v) > 0 {
			o.violated = fmt.Sprintf("seed %d (fail at %q, crashes %v): %s", c.Seed, c.FailAt, res.Crashes, v[0])
		}
		all[i] = o
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	st := &FaultStudy{Runs: runs}
	var lat []float64
	msgs := 0
	for _, o := range all {
		switch o.outcome {
		case saga.Completed:
			st.Completed++
		case saga.Compensated:
			st.Compensated++
		default:
			st.Unfinished++
		}
		if o.parked {
			st.Parked++
		}
		if o.lat >= 0 {
			lat = append(lat, float64(o.lat))
		}
		msgs += o.msgs
		st.Double += o.double
		if o.violated != "" {
			st.Violations++
			if st.FirstViolation == "" {
				st.FirstViolation = o.violated
			}
		}
	}
	st.P50, st.P99, st.Max = durPct(lat, 50), durPct(lat, 99), durPct(lat, 100)
	st.Messages = float64(msgs) / float64(runs)
	return st, nil
}

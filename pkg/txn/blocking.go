package txn

import (
	"fmt"
	"sort"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

// DowntimePoint is one point of [BlockingVsDowntime].
type DowntimePoint struct {
	Downtime time.Duration
	// Blocked is the longest time a live participant spent in doubt.
	Blocked time.Duration
	// LockHeld is the longest time a participant held its locks.
	LockHeld time.Duration
	// Outcome is "COMMIT" or "ABORT" (or "MIXED"/"IN DOUBT" for a broken
	// rule).
	Outcome string
	// Violations are the atomicity checker's findings (none when correct).
	Violations []string
}

// BlockingVsDowntime runs one transaction per downtime with the crash that
// crash builds for it (for example twopc.CoordinatorAfterPrepare), all on
// cfg's seed, and measures how long the participants stay blocked. The
// seed's claim "2PC is blocking" predicts Blocked ≈ downtime for a
// coordinator that dies after PREPARE.
func BlockingVsDowntime(cfg twopc.Config, crash func(downtime time.Duration) twopc.Crash, downtimes []time.Duration) ([]DowntimePoint, error) {
	if crash == nil {
		return nil, fmt.Errorf("txn: BlockingVsDowntime needs a crash function")
	}
	if err := checkDurations("downtime", downtimes, true); err != nil {
		return nil, err
	}
	out := make([]DowntimePoint, len(downtimes))
	for i, d := range downtimes {
		c := cfg
		c.Crashes = append(append([]twopc.Crash(nil), cfg.Crashes...), crash(d))
		r, err := twopc.Run(c)
		if err != nil {
			return nil, err
		}
		out[i] = DowntimePoint{Downtime: d, Blocked: r.Blocked(), LockHeld: r.MaxLockHeld(), Outcome: r.Outcome(0), Violations: r.Violations()}
	}
	return out, nil
}

// CrashStudy is the result of [RandomCrashes]: one entry per run, by run
// number, plus totals.
type CrashStudy struct {
	Seed        uint64
	Runs        int
	MaxDowntime time.Duration
	Cooperative bool
	// Participants is how many participants each run had.
	Participants int
	// Blocked, LockHeld and Point hold each run's longest in-doubt time,
	// longest lock-hold time and crash point.
	Blocked  []time.Duration
	LockHeld []time.Duration
	Point    []string
	// Outcomes counts the runs by outcome ("COMMIT", "ABORT", ...).
	Outcomes map[string]int
	// Violations counts the runs the atomicity checker rejected;
	// FirstViolation describes the first (with its seed and crash), and
	// [CrashStudy.Replay] runs it again with a trace.
	Violations     int
	FirstViolation string
	firstSeed      uint64
	firstCrash     twopc.Crash
}

// Replay runs the study's first violating run again with a trace (cfg
// must be the study's configuration), so that its sequence diagram shows
// the counterexample. It returns nil when no run broke atomicity.
func (s *CrashStudy) Replay(cfg twopc.Config) (*twopc.Result, error) {
	if s.Violations == 0 {
		return nil, nil
	}
	cfg.Seed, cfg.Crashes, cfg.Trace = s.firstSeed, []twopc.Crash{s.firstCrash}, 400
	return twopc.Run(cfg)
}

// RandomCrashes runs cfg's transaction runs times, run i with seed
// cfg.Seed+i and one crash at a random protocol step of a random node
// (twopc.RandomCrash, downtime uniform in [0, maxDowntime]), and checks
// every run for atomicity. workers bounds the goroutines (0: one per CPU,
// 1: sequential); the result does not depend on it.
func RandomCrashes(cfg twopc.Config, runs int, maxDowntime time.Duration, workers int) (*CrashStudy, error) {
	if runs < 1 {
		return nil, fmt.Errorf("txn: runs must be at least 1, got %d", runs)
	}
	if maxDowntime < 0 {
		return nil, fmt.Errorf("txn: maximum downtime %v is negative", maxDowntime)
	}
	if cfg.Horizon <= maxDowntime {
		return nil, fmt.Errorf("txn: the horizon %v must be longer than the longest downtime %v", cfg.Horizon, maxDowntime)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st := &CrashStudy{Seed: cfg.Seed, Runs: runs, MaxDowntime: maxDowntime, Cooperative: cfg.Cooperative, Participants: len(cfg.Participants),
		Blocked: make([]time.Duration, runs), LockHeld: make([]time.Duration, runs), Point: make([]string, runs), Outcomes: map[string]int{}}
	outcome := make([]string, runs)
	violation := make([]string, runs)
	crashes := make([]twopc.Crash, runs)
	errOnce := make(chan error, 1)
	parallel(runs, workers, func(i int) {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		crash, label := twopc.RandomCrash(sim.NewRand(c.Seed, "txn/crash-point"), cfg.Participants, maxDowntime)
		c.Crashes = []twopc.Crash{crash}
		crashes[i] = crash
		c.Trace = 0
		r, err := twopc.Run(c)
		if err != nil {
			select {
			case errOnce <- err:
			default:
			}
			return
		}
		st.Blocked[i], st.LockHeld[i], st.Point[i], outcome[i] = r.Blocked(), r.MaxLockHeld(), label, r.Outcome(0)
		if v := r.Violations(); len(v) > 0 {
			violation[i] = fmt.Sprintf("seed %d, %s (%s): %s", c.Seed, crash, label, v[0])
		}
	})
	select {
	case err := <-errOnce:
		return nil, err
	default:
	}
	for i := 0; i < runs; i++ {
		st.Outcomes[outcome[i]]++
		if violation[i] != "" {
			st.Violations++
			if st.FirstViolation == "" {
				st.FirstViolation = violation[i]
				st.firstSeed, st.firstCrash = cfg.Seed+uint64(i), crashes[i]
			}
		}
	}
	return st, nil
}

// PointSummary summarises the runs of a [CrashStudy] that crashed at one
// protocol point.
type PointSummary struct {
	Point             string
	Runs              int
	P50, P99, Max     time.Duration // of the time in doubt
	BlockedOverSecond int           // runs in doubt for more than 1 s
	// MeanLockHeld and LockHeldP99 are of the longest lock-hold time.
	MeanLockHeld time.Duration
	LockHeldP99  time.Duration
}

// ByPoint groups the study's runs by crash point, in protocol order.
func (s *CrashStudy) ByPoint() []PointSummary {
	groups := map[string][]int{}
	var order []string
	for i, p := range s.Point {
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], i)
	}
	rank := func(p string) int {
		for n := 0; n < 16; n++ {
			for _, node := range []string{twopc.Coordinator, "participant"} {
				if twopc.CrashLabel(node, n, s.Participants) == p {
					if node == twopc.Coordinator {
						return n
					}
					return 100 + n
				}
			}
		}
		return 1000
	}
	sort.SliceStable(order, func(a, b int) bool { return rank(order[a]) < rank(order[b]) })
	var out []PointSummary
	for _, p := range order {
		idx := groups[p]
		var blocked, holds []float64
		var held time.Duration
		over := 0
		for _, i := range idx {
			blocked = append(blocked, float64(s.Blocked[i]))
			holds = append(holds, float64(s.LockHeld[i]))
			held += s.LockHeld[i]
			if s.Blocked[i] > time.Second {
				over++
			}
		}
		out = append(out, PointSummary{Point: p, Runs: len(idx),
			P50: durPct(blocked, 50), P99: durPct(blocked, 99), Max: durPct(blocked, 100),
			BlockedOverSecond: over, MeanLockHeld: held / time.Duration(len(idx)), LockHeldP99: durPct(holds, 99)})
	}
	return out
}

// Package txn holds the experiments of notebooks/05-2pc-vs-sagas: one
// logical transaction across OrderService, InventoryService and
// BillingService, run as two-phase commit (package twopc) and as a saga
// (package saga) on the deterministic simulator, with crashes injected at
// protocol steps.
//
// Every experiment takes its seed in its configuration, returns plain
// numbers, and gives the same numbers for the same seed (runs spread over
// goroutines are independent simulations, collected by index). The
// protocol rules default to the reference solutions in solutions/txn;
// experiments that take rules accept a learner's versions as well.
package txn

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

// Rules2PC returns the reference 2PC rules: the participant's recovery,
// the coordinator's phase 2 and the cooperative termination rule.
func Rules2PC() twopc.Rules {
	return twopc.Rules{Recover: ref.ParticipantRecovery, Phase2: ref.Phase2, Terminate: ref.Terminate}
}

// RulesSaga returns the reference compensation rule of the orchestrator.
func RulesSaga() saga.CompensateFunc { return ref.NextCompensation }

// TwoPC returns the default 2PC configuration with the reference rules.
func TwoPC() twopc.Config { return twopc.Default(Rules2PC()) }

// Saga returns the default orchestrated saga configuration with the
// reference compensation rule.
func Saga() saga.Config { return saga.Default(RulesSaga()) }

// parallel runs f(i) for i in [0, n) on up to workers goroutines (0: one
// per CPU). Results must be written by index, so the outcome does not
// depend on scheduling.
func parallel(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Percentile is the nearest-rank p-th percentile of xs (p in (0, 100]);
// NaN for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || !(p > 0 && p <= 100) {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(r, 1)-1]
}

// durPct is Percentile over durations stored as float64 nanoseconds; -1
// when there are none.
func durPct(xs []float64, p float64) time.Duration {
	v := Percentile(xs, p)
	if math.IsNaN(v) {
		return -1
	}
	return time.Duration(v)
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Millis converts durations to milliseconds, for charts.
func Millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// Seconds converts durations to seconds, for charts.
func Seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// Survival returns, for each x (seconds) at which some of ds are longer
// than x, that x and the percentage of ds longer than it: the points of a
// survival curve, ready for a logarithmic axis (x values where no duration
// is longer are left out).
func Survival(ds []time.Duration, xs []float64) (x, pct []float64) {
	for _, v := range xs {
		n := 0
		for _, d := range ds {
			if d.Seconds() > v {
				n++
			}
		}
		if n > 0 {
			x, pct = append(x, v), append(pct, 100*float64(n)/float64(len(ds)))
		}
	}
	return x, pct
}

func checkDurations(name string, ds []time.Duration, allowZero bool) error {
	if len(ds) == 0 {
		return fmt.Errorf("txn: no %s given", name)
	}
	for _, d := range ds {
		if d < 0 || (!allowZero && d == 0) {
			return fmt.Errorf("txn: %s %v is not positive", name, d)
		}
	}
	return nil
}

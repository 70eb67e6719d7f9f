// Package budget states performance budgets inside benchmarks: a benchmark
// measures a figure, reports it, prints it beside its budget, and fails when
// the figure is beyond the budget. Numbers live here, in benchmarks run by
// "make bench" (and by make test, once each), never in timed unit tests.
//
//	func BenchmarkIngest(b *testing.B) {
//		start := time.Now()
//		for range b.N {
//			ingestOneSimulatedSecond()
//		}
//		perSec := float64(b.N) * 10e6 / time.Since(start).Seconds()
//		budget.AtLeast(b, "events/s", perSec, 50e6)
//	}
package budget

import (
	"fmt"
	"math"
	"testing"
)

// Verdict describes a figure against its budget.
type Verdict struct {
	Name   string
	Unit   string
	Value  float64
	Limit  float64
	AtMost bool // the budget is a maximum (else a minimum)
}

// OK reports whether the figure is within its budget.
func (v Verdict) OK() bool {
	if math.IsNaN(v.Value) {
		return false
	}
	if v.AtMost {
		return v.Value <= v.Limit
	}
	return v.Value >= v.Limit
}

func (v Verdict) String() string {
	op := ">="
	if v.AtMost {
		op = "<="
	}
	verdict := "within budget"
	if !v.OK() {
		verdict = "OVER BUDGET"
	}
	return fmt.Sprintf("%s: %s %s (budget %s %s %s): %s", v.Name, format(v.Value), v.Unit, op, format(v.Limit), v.Unit, verdict)
}

func format(x float64) string {
	switch ax := math.Abs(x); {
	case ax >= 1e9:
		return fmt.Sprintf("%.3gG", x/1e9)
	case ax >= 1e6:
		return fmt.Sprintf("%.3gM", x/1e6)
	case ax >= 1e4:
		return fmt.Sprintf("%.3gk", x/1e3)
	default:
		return fmt.Sprintf("%.4g", x)
	}
}

// AtLeast reports value (in unit) with budget min: it must be at least min.
func AtLeast(b testing.TB, unit string, value, min float64) Verdict {
	b.Helper()
	return report(b, Verdict{Name: b.Name(), Unit: unit, Value: value, Limit: min})
}

// AtMost reports value (in unit) with budget max: it must be at most max.
func AtMost(b testing.TB, unit string, value, max float64) Verdict {
	b.Helper()
	return report(b, Verdict{Name: b.Name(), Unit: unit, Value: value, Limit: max, AtMost: true})
}

type metricReporter interface {
	ReportMetric(n float64, unit string)
}

func report(b testing.TB, v Verdict) Verdict {
	b.Helper()
	if r, ok := b.(metricReporter); ok {
		r.ReportMetric(v.Value, v.Unit)
	}
	b.Log(v.String())
	if !v.OK() {
		b.Errorf("%s", v)
	}
	return v
}

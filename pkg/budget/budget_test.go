package budget

import (
	"math"
	"strings"
	"testing"
)

func TestVerdictsCompareInTheBudgetsDirection(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		ok   bool
	}{
		{"a minimum is met by a larger value", Verdict{Value: 60, Limit: 50}, true},
		{"a minimum is met by an equal value", Verdict{Value: 50, Limit: 50}, true},
		{"a minimum is missed by a smaller value", Verdict{Value: 40, Limit: 50}, false},
		{"a maximum is met by a smaller value", Verdict{Value: 0.1, Limit: 0.2, AtMost: true}, true},
		{"a maximum is missed by a larger value", Verdict{Value: 0.3, Limit: 0.2, AtMost: true}, false},
		{"NaN never meets a budget", Verdict{Value: math.NaN(), Limit: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.OK(); got != tt.ok {
				t.Errorf("%+v.OK() = %v, want %v", tt.v, got, tt.ok)
			}
		})
	}
}

type fakeTB struct {
	testing.TB
	logs, errs []string
	metrics    map[string]float64
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "BenchmarkX" }
func (f *fakeTB) Log(args ...any) {
	f.logs = append(f.logs, strings.TrimSpace(strings.Repeat("%v ", len(args))))
}
func (f *fakeTB) Errorf(string, ...any) { f.errs = append(f.errs, "err") }
func (f *fakeTB) ReportMetric(n float64, unit string) {
	if f.metrics == nil {
		f.metrics = map[string]float64{}
	}
	f.metrics[unit] = n
}

func TestAFigureOverBudgetFailsTheBenchmark(t *testing.T) {
	f := &fakeTB{}
	v := AtMost(f, "s", 2, 1)
	if v.OK() || len(f.errs) != 1 {
		t.Fatalf("2 s against a 1 s maximum: OK=%v, errors=%d; want not OK and one error", v.OK(), len(f.errs))
	}
	if f.metrics["s"] != 2 {
		t.Errorf("the figure was not reported as a metric: %v", f.metrics)
	}
}

func TestAFigureWithinBudgetPassesAndIsPrinted(t *testing.T) {
	f := &fakeTB{}
	v := AtLeast(f, "events/s", 60e6, 50e6)
	if !v.OK() || len(f.errs) != 0 || len(f.logs) != 1 {
		t.Fatalf("60M against a 50M minimum: OK=%v errors=%d logs=%d", v.OK(), len(f.errs), len(f.logs))
	}
	if want := "60M events/s (budget >= 50M events/s): within budget"; !strings.Contains(v.String(), want) {
		t.Errorf("String() = %q, want it to contain %q", v.String(), want)
	}
}

func TestSpreadJudgesTheMedianAndStatesTheRange(t *testing.T) {
	for _, tc := range []struct {
		xs     []float64
		median float64
		desc   string
	}{
		{[]float64{5}, 5, "median of 1 rounds, range 5 to 5"},
		{[]float64{9, 1, 5}, 5, "median of 3 rounds, range 1 to 9"},
		{[]float64{100, 1, 2, 3, 4}, 3, "median of 5 rounds, range 1 to 100"},
	} {
		m, d := Spread(tc.xs)
		if m != tc.median || d != tc.desc {
			t.Errorf("Spread(%v) = %v, %q; want %v, %q", tc.xs, m, d, tc.median, tc.desc)
		}
	}
}

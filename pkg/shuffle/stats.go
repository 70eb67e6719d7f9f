package shuffle

import (
	"math"
	"slices"
	"time"
)

// Spread is the duration summary of a set of tasks.
type Spread struct {
	Tasks                 int
	Median, P90, P99, Max time.Duration
}

// Tail is P99 / Median: the interview's "p99 is 3x the median".
func (s Spread) Tail() float64 {
	if s.Median == 0 {
		return 0
	}
	return float64(s.P99) / float64(s.Median)
}

// SpreadOf summarises the durations of the successful attempts in ts
// (nearest-rank quantiles).
func SpreadOf(ts []TaskMetrics) Spread {
	ok := Succeeded(ts)
	if len(ok) == 0 {
		return Spread{}
	}
	d := make([]time.Duration, len(ok))
	for i, t := range ok {
		d[i] = t.Duration
	}
	slices.Sort(d)
	rank := func(q float64) time.Duration { return d[max(0, int(math.Ceil(q*float64(len(d))))-1)] }
	return Spread{Tasks: len(d), Median: d[len(d)/2], P90: rank(0.9), P99: rank(0.99), Max: d[len(d)-1]}
}

// Millis returns the durations of the successful attempts in ts, in
// milliseconds, for charts.
func Millis(ts []TaskMetrics) []float64 {
	var out []float64
	for _, t := range Succeeded(ts) {
		out = append(out, float64(t.Duration)/float64(time.Millisecond))
	}
	return out
}

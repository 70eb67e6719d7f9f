// Package drill defines the warm-up exercise of notebooks/00-start-here:
// its checks, its hints and its reference.
package drill

import (
	"fmt"
	"math"
	"slices"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/solutions/warmup"
)

// PercentileFunc is the signature of the warm-up exercise.
type PercentileFunc = func(samples []float64, p float64) (float64, error)

// Percentile is the warm-up exercise: a nearest-rank percentile.
var Percentile = exercise.Register(&exercise.Exercise[PercentileFunc]{
	ID:       "warmup/percentile",
	Title:    "Nearest-rank percentile",
	Task:     "return the p-th percentile of samples by the nearest-rank method; an error for no samples or p outside (0, 100]",
	Func:     "Percentile",
	Notebook: "00-start-here.ipynb",
	Hints: [3]string{
		"Percentiles are about order: what must happen to the samples before you can pick one? And whose slice would that change?",
		"Nearest rank: with n sorted samples, the p-th percentile is the value at rank ceil(p/100·n), counting ranks from 1. p = 100 is the maximum; p just above 0 is the minimum.",
		"Copy with slices.Clone, sort the copy with slices.Sort, compute rank := int(math.Ceil(p*float64(n)/100)) (multiply first: p/100 is inexact in floating point, and 0.28*25 is 7.000000000000001) and return sorted[rank-1]. Check len(samples) == 0 and p <= 0 || p > 100 (or NaN) first and return an error.",
	},
	Reference: warmup.Percentile,
	Probe:     func(f PercentileFunc) { _, _ = f([]float64{1, 2, 3}, 50) },
	Checks: []exercise.Check[PercentileFunc]{
		{Name: "the median of an odd-sized sample is its middle value", Hint: 2, Run: func(t exercise.T, f PercentileFunc) {
			in := []float64{9, 1, 7, 3, 5}
			got, err := f(in, 50)
			require.NoErrorf(t, err, "Percentile(%v, 50)", in)
			require.Equalf(t, 5.0, got, "Percentile(%v, 50)", in)
		}},
		{Name: "p100 is the maximum and a tiny p is the minimum", Hint: 2, Run: func(t exercise.T, f PercentileFunc) {
			in := []float64{40, 10, 30, 20}
			got, err := f(in, 100)
			require.NoErrorf(t, err, "Percentile(%v, 100)", in)
			require.Equalf(t, 40.0, got, "Percentile(%v, 100)", in)
			got, err = f(in, 0.01)
			require.NoErrorf(t, err, "Percentile(%v, 0.01)", in)
			require.Equalf(t, 10.0, got, "Percentile(%v, 0.01)", in)
		}},
		{Name: "p99 of 1..1000 is 990 (nearest rank, not interpolated)", Hint: 2, Run: func(t exercise.T, f PercentileFunc) {
			in := make([]float64, 1000)
			for i := range in {
				in[i] = float64(1000 - i)
			}
			got, err := f(in, 99)
			require.NoErrorf(t, err, "Percentile(1000..1, 99)")
			require.Equalf(t, 990.0, got, "Percentile(1000..1, 99)")
			got, err = f(in, 99.95)
			require.NoErrorf(t, err, "Percentile(1000..1, 99.95)")
			require.Equalf(t, 1000.0, got, "Percentile(1000..1, 99.95) rounds the rank up")
		}},
		{Name: "an exact rank stays exact: p28 of 25 samples is rank 7, p14 of 50 is rank 7", Hint: 3, Run: func(t exercise.T, f PercentileFunc) {
			for _, c := range []struct {
				n    int
				p    float64
				rank int
			}{{25, 28, 7}, {50, 14, 7}, {1000, 99.9, 999}, {100, 7, 7}} {
				in := make([]float64, c.n)
				for i := range in {
					in[i] = float64(i + 1)
				}
				got, err := f(in, c.p)
				if err != nil || got != float64(c.rank) {
					t.Errorf("Percentile(1..%d, %v) = %v (%v); want %d: ceil(%v x %d / 100) is exactly %d, while %v/100*%d in floating point is %v",
						c.n, c.p, got, err, c.rank, c.p, c.n, c.rank, c.p, c.n, c.p/100*float64(c.n))
				}
			}
		}},
		{Name: "the caller's samples are left in their order", Hint: 1, Run: func(t exercise.T, f PercentileFunc) {
			in := []float64{3, 1, 2}
			before := slices.Clone(in)
			_, _ = f(in, 50)
			require.Equalf(t, before, in, "samples after Percentile(%v, 50)", before)
		}},
		{Name: "no samples, or p outside (0, 100], is an error", Hint: 1, Run: func(t exercise.T, f PercentileFunc) {
			for _, c := range []struct {
				in []float64
				p  float64
			}{{nil, 50}, {[]float64{1, 2}, 0}, {[]float64{1, 2}, -5}, {[]float64{1, 2}, 100.5}, {[]float64{1, 2}, math.NaN()}} {
				got, err := f(c.in, c.p)
				require.Errorf(t, err, "Percentile(%v, %v) returned %v and no error", c.in, c.p, got)
			}
		}},
		{Name: "results match a sort-and-pick on 200 random samples", Hint: 3, Run: func(t exercise.T, f PercentileFunc) {
			rng := newRand(42)
			for trial := 0; trial < 200; trial++ {
				n := 1 + int(rng()%50)
				in := make([]float64, n)
				for i := range in {
					in[i] = float64(rng() % 1000)
				}
				p := float64(1+rng()%1000) / 10
				want, _ := warmup.Percentile(in, p)
				got, err := f(slices.Clone(in), p)
				require.NoErrorf(t, err, "Percentile(%v, %v)", in, p)
				require.Equalf(t, want, got, "Percentile(%v, %v)", fmt.Sprint(in), p)
			}
		}},
	},
})

// newRand is a tiny seeded generator (splitmix64), so the check is the same
// on every run without touching any global random source.
func newRand(seed uint64) func() uint64 {
	return func() uint64 {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
}

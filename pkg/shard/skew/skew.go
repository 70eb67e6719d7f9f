// Package skew measures how unevenly load is spread over shards, workers or
// partitions, with the four numbers capacity planning uses:
//
//   - max/mean: how much bigger the busiest shard is than an average one.
//     Capacity is bought for the busiest shard, so 1.25 means a quarter of
//     the fleet is idle headroom. This is the number to watch.
//   - p99/median: the same question asked of the tail instead of the single
//     worst shard (with few shards, p99 is the maximum).
//   - coefficient of variation (standard deviation / mean): the spread of the
//     whole distribution, independent of the number of shards' extremes.
//   - Gini coefficient: 0 when every shard carries the same load, close to 1
//     when one shard carries everything.
package skew

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Stats describes the spread of a set of loads.
type Stats struct {
	N             int     // how many loads
	Total         float64 // their sum
	Mean          float64
	Median        float64 // nearest-rank p50
	P99           float64 // nearest-rank p99
	Max           float64
	MaxOverMean   float64
	P99OverMedian float64 // +Inf when the median is 0 and p99 is not
	CV            float64 // coefficient of variation (population standard deviation / mean)
	Gini          float64 // Gini coefficient in [0, 1)
}

// Of returns the skew statistics of loads (events/s, bytes, keys: any
// non-negative quantity per shard). It needs at least one load, no negative
// or non-finite value, and a positive total.
func Of(loads []float64) (Stats, error) {
	if len(loads) == 0 {
		return Stats{}, errors.New("skew of no loads")
	}
	total := 0.0
	for i, v := range loads {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Stats{}, fmt.Errorf("load %d is %v: loads must be finite and >= 0", i, v)
		}
		total += v
	}
	if total == 0 {
		return Stats{}, errors.New("every load is 0: skew is undefined")
	}
	n := float64(len(loads))
	sorted := slices.Clone(loads)
	slices.Sort(sorted)
	s := Stats{N: len(loads), Total: total, Mean: total / n, Max: sorted[len(sorted)-1]}
	s.Median = rank(sorted, 50)
	s.P99 = rank(sorted, 99)
	s.MaxOverMean = s.Max / s.Mean
	switch {
	case s.Median > 0:
		s.P99OverMedian = s.P99 / s.Median
	case s.P99 > 0:
		s.P99OverMedian = math.Inf(1)
	default:
		s.P99OverMedian = 1
	}
	var ss, weighted float64
	for i, v := range sorted {
		d := v - s.Mean
		ss += d * d
		weighted += float64(i+1) * v
	}
	s.CV = math.Sqrt(ss/n) / s.Mean
	s.Gini = 2*weighted/(n*total) - (n+1)/n
	if s.Gini < 0 { // rounding on equal loads
		s.Gini = 0
	}
	return s, nil
}

// rank is the nearest-rank percentile of sorted values.
func rank(sorted []float64, p float64) float64 {
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(r, 1)-1]
}

// String formats the four skew numbers for a chart title.
func (s Stats) String() string {
	return fmt.Sprintf("max/mean %.3f · p99/median %.3f · CV %.3f · Gini %.3f", s.MaxOverMean, s.P99OverMedian, s.CV, s.Gini)
}

// Counts converts integer counts (events or keys per shard) to loads.
func Counts[T ~int | ~int32 | ~int64 | ~uint32 | ~uint64](counts []T) []float64 {
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c)
	}
	return out
}

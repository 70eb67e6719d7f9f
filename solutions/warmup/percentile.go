// Package warmup is the warm-up exercise of
// notebooks/00-start-here.ipynb: a percentile, the statistic every later
// chapter reports latencies with.
package warmup

import (
	"fmt"
	"math"
	"slices"
)

// Percentile returns the p-th percentile of samples by the nearest-rank
// method: sort the samples, then take the value at rank ceil(p/100 * n)
// (ranks start at 1). p must be in (0, 100]; samples must not be empty.
// The caller's slice is left untouched.
//
//dsgym:exercise warmup/percentile
func Percentile(samples []float64, p float64) (float64, error) {
	//dsgym:solution
	if len(samples) == 0 {
		return 0, fmt.Errorf("percentile of no samples")
	}
	if math.IsNaN(p) || p <= 0 || p > 100 {
		return 0, fmt.Errorf("percentile %v is outside (0, 100]", p)
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[rank-1], nil
	//dsgym:stub
	// panic("not implemented yet: Percentile: sort a copy of samples and return the value at rank ceil(p/100*n); an error for no samples or p outside (0, 100]")
	//dsgym:end
}

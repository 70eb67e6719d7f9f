// Package warmup is the warm-up exercise of
// notebooks/00-start-here.ipynb: a percentile, the statistic every later
// chapter reports latencies with.
package warmup

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
)

// Percentile returns the p-th percentile of samples by the nearest-rank
// method: sort the samples, then take the value at rank ceil(p/100 * n)
// (ranks start at 1), computed exactly: p = 28 of 25 samples is rank 7,
// although p/100*n in floating point is 7.000000000000001. p must be in
// (0, 100]; samples must not be empty. The caller's slice is left
// untouched.
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
	// p as the decimal it was written as (the shortest that round-trips),
	// times n / 100, rounded up: exact rational arithmetic.
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(p, 'g', -1, 64))
	r.Mul(r, big.NewRat(int64(len(sorted)), 100))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	rank := int(q.Int64())
	if m.Sign() > 0 {
		rank++
	}
	return sorted[rank-1], nil
	//dsgym:stub
	// panic("not implemented yet: Percentile: sort a copy of samples and return the value at rank ceil(p/100*n); an error for no samples or p outside (0, 100]")
	//dsgym:end
}

package budget

import (
	"fmt"
	"slices"
)

// Spread summarises the figures of several interleaved rounds: their
// median, which is what a budget should judge (one noisy round cannot
// move it), and a description with the round count and the range, which
// is what a reader needs to trust it. xs must not be empty.
func Spread(xs []float64) (median float64, desc string) {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	median = ys[len(ys)/2]
	return median, fmt.Sprintf("median of %d rounds, range %.4g to %.4g", len(ys), ys[0], ys[len(ys)-1])
}

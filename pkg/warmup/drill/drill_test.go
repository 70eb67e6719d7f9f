package drill

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dsgym/dsgym/solutions/warmup"
)

func TestReferencePassesEveryCheck(t *testing.T) {
	Percentile.Passes(t, warmup.Percentile)
}

func TestChecksCatchKnownBadPercentiles(t *testing.T) {
	sortsInPlace := func(s []float64, p float64) (float64, error) {
		if len(s) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
			return 0, errEmpty
		}
		sort.Float64s(s)
		return s[int(math.Ceil(p/100*float64(len(s))))-1], nil
	}
	interpolates := func(s []float64, p float64) (float64, error) {
		if len(s) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
			return 0, errEmpty
		}
		c := slices.Clone(s)
		slices.Sort(c)
		pos := p / 100 * float64(len(c)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(c)-1)
		return c[lo] + (pos-float64(lo))*(c[hi]-c[lo]), nil
	}
	dividesFirst := func(s []float64, p float64) (float64, error) {
		if len(s) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
			return 0, errEmpty
		}
		c := slices.Clone(s)
		slices.Sort(c)
		return c[int(math.Ceil(p/100*float64(len(c))))-1], nil
	}
	roundsDown := func(s []float64, p float64) (float64, error) {
		if len(s) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
			return 0, errEmpty
		}
		c := slices.Clone(s)
		slices.Sort(c)
		r := int(p / 100 * float64(len(c)))
		if r < 1 {
			r = 1
		}
		return c[r-1], nil
	}
	noValidation := func(s []float64, p float64) (float64, error) {
		c := slices.Clone(s)
		slices.Sort(c)
		r := int(math.Ceil(p / 100 * float64(len(c))))
		if r < 1 || r > len(c) {
			return 0, nil
		}
		return c[r-1], nil
	}
	unsorted := func(s []float64, p float64) (float64, error) {
		if len(s) == 0 || p <= 0 || p > 100 || math.IsNaN(p) {
			return 0, errEmpty
		}
		return s[int(math.Ceil(p/100*float64(len(s))))-1], nil
	}
	deadlocks := func(s []float64, p float64) (float64, error) {
		select {} // blocks forever, as a deadlocked implementation would
	}
	Percentile.Timeout = 200 * time.Millisecond // the blocking version must time out fast
	defer func() { Percentile.Timeout = 0 }()

	tests := []struct {
		name   string
		bad    PercentileFunc
		checks []string
	}{
		{"sorting the caller's slice", sortsInPlace, []string{"the caller's samples are left in their order"}},
		{"interpolating between ranks", interpolates, []string{"p99 of 1..1000 is 990 (nearest rank, not interpolated)"}},
		{"dividing p by 100 first, in floating point", dividesFirst, []string{"an exact rank stays exact: p28 of 25 samples is rank 7, p14 of 50 is rank 7"}},
		{"rounding the rank down", roundsDown, []string{"p99 of 1..1000 is 990 (nearest rank, not interpolated)"}},
		{"accepting empty samples and p out of range", noValidation, []string{"no samples, or p outside (0, 100], is an error"}},
		{"forgetting to sort", unsorted, []string{"the median of an odd-sized sample is its middle value", "results match a sort-and-pick on 200 random samples"}},
		{"blocking forever", deadlocks, []string{"the median of an odd-sized sample is its middle value"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			Percentile.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

type constError string

func (e constError) Error() string { return string(e) }

const errEmpty = constError("bad input")

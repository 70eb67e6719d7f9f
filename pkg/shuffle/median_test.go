package shuffle

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTheRunningMedianIsTheSortedMiddle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m runningMedian
	var all []time.Duration
	for i := range 500 {
		d := time.Duration(r.IntN(1000))
		m.add(d)
		all = append(all, d)
		s := slices.Clone(all)
		slices.Sort(s)
		if got, want := m.median(), s[len(s)/2]; got != want {
			t.Fatalf("after %d values: median %v, want %v", i+1, got, want)
		}
	}
}

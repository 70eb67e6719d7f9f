package skew

import (
	"fmt"
	"math"
	"testing"
)

func TestStatsOfKnownDistributions(t *testing.T) {
	tests := []struct {
		name                  string
		loads                 []float64
		maxMean, cv, gini, pm float64
	}{
		{"equal loads have no skew", []float64{5, 5, 5, 5}, 1, 0, 0, 1},
		{"one shard carrying everything has the largest skew", []float64{0, 0, 0, 8}, 4, math.Sqrt(3), 0.75, math.Inf(1)},
		{"a 1,2,3,4 spread", []float64{4, 1, 3, 2}, 1.6, math.Sqrt(1.25) / 2.5, 0.25, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Of(tt.loads)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"max/mean", s.MaxOverMean, tt.maxMean}, {"CV", s.CV, tt.cv}, {"Gini", s.Gini, tt.gini}, {"p99/median", s.P99OverMedian, tt.pm}} {
				if !(c.got == c.want || math.Abs(c.got-c.want) < 1e-9) {
					t.Errorf("%s of %v = %v, want %v", c.what, tt.loads, c.got, c.want)
				}
			}
		})
	}
}

func TestBadLoadsAreErrors(t *testing.T) {
	for _, loads := range [][]float64{nil, {}, {1, -1}, {math.NaN()}, {math.Inf(1), 1}, {0, 0}} {
		t.Run(fmt.Sprintf("%v is an error", loads), func(t *testing.T) {
			if _, err := Of(loads); err == nil {
				t.Errorf("Of(%v) returned no error", loads)
			}
		})
	}
}

func TestOfLeavesTheCallersSliceAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	if _, err := Of(in); err != nil {
		t.Fatal(err)
	}
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Of reordered its input: %v", in)
	}
}

func ExampleOf() {
	// Requests per second on four shards; one of them holds a hot customer.
	s, _ := Of([]float64{100, 110, 95, 300})
	fmt.Println(s)
	// Output: max/mean 1.983 · p99/median 3.000 · CV 0.569 · Gini 0.258
}

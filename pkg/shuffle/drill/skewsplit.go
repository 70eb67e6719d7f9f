package drill

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shuffle"
	"github.com/dsgym/dsgym/pkg/shuffle/step"
	ref "github.com/dsgym/dsgym/solutions/shuffle"
)

// SkewSplitFunc is SkewSplits' signature.
type SkewSplitFunc = step.SkewSplitFunc

// even makes partitions of maps equal blocks: sizes[p] / maps each.
func even(maps int, sizes ...int64) [][]int64 {
	b := make([][]int64, len(sizes))
	for p, s := range sizes {
		b[p] = make([]int64, maps)
		for m := range b[p] {
			b[p][m] = s / int64(maps)
		}
	}
	return b
}

func aqe(threshold, advisory int64) shuffle.AQE {
	a := shuffle.DefaultAQE()
	a.SkewedPartitionThreshold, a.AdvisoryPartitionSize = threshold, advisory
	return a
}

func splitCase(name string, hint int, blocks [][]int64, a shuffle.AQE, want []int) exercise.Check[SkewSplitFunc] {
	return exercise.Check[SkewSplitFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f SkewSplitFunc) {
		got, err := f(blocks, a)
		if err != nil {
			t.Errorf("SkewSplits returned %v; want %v", err, want)
			return
		}
		if !slices.Equal(got, want) {
			t.Errorf("SkewSplits (threshold %d, factor %v, advisory %d, partition sizes %v) = %v; want %v",
				a.SkewedPartitionThreshold, a.SkewedPartitionFactor, a.AdvisoryPartitionSize, sizesOf(blocks), got, want)
		}
	}}
}

func sizesOf(blocks [][]int64) []int64 {
	s := make([]int64, len(blocks))
	for p, row := range blocks {
		for _, b := range row {
			s[p] += b
		}
	}
	return s
}

// randomShuffle draws a shuffle of up to 40 partitions and 16 map tasks
// with a few hot partitions.
func randomShuffle(r *rand.Rand) [][]int64 {
	parts, maps := 2+r.IntN(39), 1+r.IntN(16)
	b := make([][]int64, parts)
	for p := range b {
		b[p] = make([]int64, maps)
		hot := int64(1)
		if r.IntN(8) == 0 {
			hot = int64(5 + r.IntN(60))
		}
		for m := range b[p] {
			b[p][m] = hot * int64(r.IntN(1000))
		}
	}
	return b
}

// SkewSplits is exercise shuffle/skewsplit.
var SkewSplits = exercise.Register(&exercise.Exercise[SkewSplitFunc]{
	ID:       "shuffle/skewsplit",
	Title:    "AQE's skew-join split",
	Task:     "from the map output sizes of one join side, decide which reduce partitions AQE splits and into how many tasks",
	Func:     "SkewSplits",
	Notebook: notebook,
	Hints: [3]string{
		"A partition is skewed only if it is large in both senses: larger than skewedPartitionThresholdInBytes (256 MB by default) and larger than skewedPartitionFactor (5) times the median partition. The first keeps small jobs alone, the second keeps evenly large ones alone.",
		"Sum each partition's blocks, take shuffle.Median of the sums, threshold := max(a.SkewedPartitionThreshold, int64(a.SkewedPartitionFactor * float64(median))). The target size is max(a.AdvisoryPartitionSize, mean of the partitions <= threshold).",
		"For each partition: 1 if its size <= threshold, else len(shuffle.SplitBySize(blocks[p], target)). SplitBySize never cuts a map block: a hot key that sits in one map task's output cannot be split.",
	},
	Reference: ref.SkewSplits,
	Probe:     func(f SkewSplitFunc) { _, _ = f(even(1, 1), shuffle.DefaultAQE()) },
	Checks: []exercise.Check[SkewSplitFunc]{
		splitCase("a partition far above both bounds splits into about size / target parts", 1,
			even(8, 100, 100, 100, 800), aqe(300, 100), []int{1, 1, 1, 8}),
		splitCase("above 5 x the median but under the threshold: not skewed", 1,
			even(8, 10, 10, 10, 200), aqe(256, 10), []int{1, 1, 1, 1}),
		splitCase("above the threshold but under 5 x the median: not skewed (every partition is large)", 1,
			even(8, 400, 400, 400, 1000), aqe(256, 100), []int{1, 1, 1, 1}),
		splitCase("exactly at the threshold is not above it", 2,
			even(8, 10, 10, 10, 400), aqe(400, 10), []int{1, 1, 1, 1}),
		splitCase("the target is the mean of the non-skewed partitions when that beats the advisory size", 2,
			even(16, 200, 200, 200, 1600), aqe(500, 10), []int{1, 1, 1, 8}),
		splitCase("one map block is never cut: a hot key in a single map task's output stays one task", 3,
			[][]int64{{10, 0, 0, 0}, {10, 0, 0, 0}, {10, 0, 0, 0}, {900, 0, 0, 0}}, aqe(100, 10), []int{1, 1, 1, 1}),
		{Name: "the same answers as Spark's rule on 300 random shuffles", Hint: 3, Run: func(t exercise.T, f SkewSplitFunc) {
			r := rand.New(rand.NewPCG(3, 14))
			for i := range 300 {
				b := randomShuffle(r)
				a := aqe(int64(r.IntN(20000)), int64(1+r.IntN(5000)))
				a.SkewedPartitionFactor = 1 + 9*r.Float64()
				want, _ := a.SkewSplits(b)
				got, err := f(b, a)
				if err != nil {
					t.Errorf("shuffle %d: %v", i, err)
					return
				}
				for p := range want {
					if p >= len(got) || got[p] != want[p].Parts {
						t.Errorf("shuffle %d (sizes %v, threshold %d, factor %.2f, advisory %d): got %v, want %d parts for partition %d",
							i, sizesOf(b), a.SkewedPartitionThreshold, a.SkewedPartitionFactor, a.AdvisoryPartitionSize, got, want[p].Parts, p)
						return
					}
				}
			}
		}},
		{Name: "no partitions, ragged rows and negative sizes are errors", Hint: 3, Run: func(t exercise.T, f SkewSplitFunc) {
			for name, b := range map[string][][]int64{"no partitions": nil, "ragged": {{1, 2}, {1}}, "negative": {{1, -2}}} {
				if _, err := f(b, shuffle.DefaultAQE()); err == nil {
					t.Errorf("%s: SkewSplits(%v) returned no error", name, b)
				}
			}
		}},
	},
	Timeout: 10 * time.Second,
})

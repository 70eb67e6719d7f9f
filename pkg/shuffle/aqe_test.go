package shuffle

import (
	"slices"
	"testing"
)

func TestMedianIsTheMiddleOrTheMeanOfTheTwoMiddles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int64
		want  int64
	}{
		{"odd count: the middle value", []int64{9, 1, 5}, 5},
		{"even count: the mean of the two middle values", []int64{1, 2, 4, 100}, 3},
		{"never below 1", []int64{0, 0, 0}, 1},
		{"empty: 1", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.sizes); got != tc.want {
				t.Errorf("Median(%v) = %d, want %d", tc.sizes, got, tc.want)
			}
		})
	}
}

func TestAPartitionIsSkewedOnlyAboveBothTheFactorAndTheThreshold(t *testing.T) {
	a := DefaultAQE()
	a.SkewedPartitionThreshold = 100
	for _, tc := range []struct {
		name  string
		sizes []int64
		want  int64
	}{
		{"the factor decides when 5 x median exceeds the threshold", []int64{40, 40, 40, 1000}, 200},
		{"the threshold decides when the median is small", []int64{1, 2, 3, 500}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.SkewThreshold(tc.sizes); got != tc.want {
				t.Errorf("SkewThreshold(%v) = %d, want %d", tc.sizes, got, tc.want)
			}
		})
	}
}

func TestTheSplitTargetIsTheAdvisorySizeOrTheMeanOfTheNonSkewed(t *testing.T) {
	a := DefaultAQE()
	a.SkewedPartitionThreshold, a.AdvisoryPartitionSize = 100, 10
	// non-skewed: 40 40 40, mean 40 > advisory 10
	if got := a.SplitTarget([]int64{40, 40, 40, 1000}); got != 40 {
		t.Errorf("SplitTarget = %d, want 40 (the mean of the non-skewed partitions)", got)
	}
	a.AdvisoryPartitionSize = 64
	if got := a.SplitTarget([]int64{40, 40, 40, 1000}); got != 64 {
		t.Errorf("SplitTarget = %d, want 64 (the advisory size is larger)", got)
	}
}

func TestSplitBySizeMakesGroupsOfAboutTheTarget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		blocks []int64
		target int64
		want   []int
	}{
		{"equal blocks: two per group", []int64{5, 5, 5, 5, 5, 5}, 10, []int{0, 2, 4}},
		{"a tiny tail joins the previous group", []int64{10, 10, 1}, 10, []int{0, 1}},
		{"two small neighbours under 1.2 x target merge", []int64{5, 6, 10}, 10, []int{0, 2}},
		{"one huge block is never cut", []int64{1000}, 10, []int{0}},
		{"a huge block among small ones stands alone", []int64{4, 4, 100, 4, 4}, 10, []int{0, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SplitBySize(tc.blocks, tc.target); !slices.Equal(got, tc.want) {
				t.Errorf("SplitBySize(%v, %d) = %v, want %v", tc.blocks, tc.target, got, tc.want)
			}
		})
	}
}

func TestSkewSplitsCutsOnlyTheSkewedPartitions(t *testing.T) {
	a := DefaultAQE()
	a.SkewedPartitionThreshold, a.AdvisoryPartitionSize = 100, 10
	// partition 2 holds 8 x 50 = 400 bytes, the others 4 x 10 = 40
	blocks := [][]int64{{10, 10, 10, 10}, {10, 10, 10, 10}, {100, 100, 100, 100}, {10, 10, 10, 10}}
	got, err := a.SkewSplits(blocks)
	if err != nil {
		t.Fatal(err)
	}
	for p, s := range got {
		want := 1
		if p == 2 {
			want = 4 // target max(10, 40) = 40: each 100-byte block alone
		}
		if s.Parts != want {
			t.Errorf("partition %d (size %d) split into %d parts, want %d", p, s.Size, s.Parts, want)
		}
	}
}

func TestSkewSplitsRejectsBadInput(t *testing.T) {
	a := DefaultAQE()
	for _, tc := range []struct {
		name   string
		a      func(AQE) AQE
		blocks [][]int64
	}{
		{"no partitions", nil, nil},
		{"a negative block", nil, [][]int64{{1, -1}}},
		{"ragged map blocks", nil, [][]int64{{1, 1}, {1}}},
		{"factor below 1", func(a AQE) AQE { a.SkewedPartitionFactor = 0.5; return a }, [][]int64{{1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := a
			if tc.a != nil {
				b = tc.a(a)
			}
			if _, err := b.SkewSplits(tc.blocks); err == nil {
				t.Errorf("SkewSplits(%v) returned no error", tc.blocks)
			}
		})
	}
}

func TestAFullOuterJoinSplitsNeitherSide(t *testing.T) {
	for _, tc := range []struct {
		j           JoinType
		left, right bool
	}{
		{Inner, true, true}, {Cross, true, true}, {LeftOuter, true, false}, {LeftSemi, true, false},
		{LeftAnti, true, false}, {RightOuter, false, true}, {FullOuter, false, false},
	} {
		l, r := SplittableSides(tc.j)
		if l != tc.left || r != tc.right {
			t.Errorf("SplittableSides(%s) = %v, %v; want %v, %v", tc.j, l, r, tc.left, tc.right)
		}
	}
}

func TestCoalescingKeepsOnePartitionPerCoreWithParallelismFirst(t *testing.T) {
	a := DefaultAQE()
	// 100 partitions of 1 MB on 10 cores: advisory 64 MB would make 2
	// groups; parallelism first caps the target at 10 MB.
	if got := a.CoalesceTarget(100*MB, 10); got != 10*MB {
		t.Errorf("CoalesceTarget = %d MB, want 10", got/MB)
	}
	a.ParallelismFirst = false
	if got := a.CoalesceTarget(100*MB, 10); got != 64*MB {
		t.Errorf("without parallelism first CoalesceTarget = %d MB, want 64", got/MB)
	}
	sizes := make([]int64, 100)
	for i := range sizes {
		sizes[i] = MB
	}
	if got := len(CoalesceRanges(sizes, 10*MB)); got != 10 {
		t.Errorf("100 x 1 MB coalesced to 10 MB gives %d groups, want 10", got)
	}
}

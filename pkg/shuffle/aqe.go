package shuffle

import (
	"errors"
	"fmt"
	"slices"
)

// AQE holds the adaptive query execution settings that decide, after a map
// stage has run and its output sizes are known, how the next stage reads
// them. The names are Spark's (spark.sql.adaptive.*); DefaultAQE has Spark
// 4's defaults (docs/sql-performance-tuning.md).
type AQE struct {
	// Enabled is spark.sql.adaptive.enabled (true since Spark 3.2).
	Enabled bool
	// Coalesce is spark.sql.adaptive.coalescePartitions.enabled (true):
	// merge neighbouring small reduce partitions.
	Coalesce bool
	// SkewJoin is spark.sql.adaptive.skewJoin.enabled (true): split a
	// skewed partition of a sort-merge join.
	SkewJoin bool
	// SkewedPartitionFactor is ...skewJoin.skewedPartitionFactor (5.0).
	SkewedPartitionFactor float64
	// SkewedPartitionThreshold is
	// ...skewJoin.skewedPartitionThresholdInBytes (256 MB).
	SkewedPartitionThreshold int64
	// AdvisoryPartitionSize is spark.sql.adaptive.advisoryPartitionSizeInBytes
	// (64 MB), the size AQE aims for when it coalesces or splits.
	AdvisoryPartitionSize int64
	// MinPartitionSize is ...coalescePartitions.minPartitionSize (1 MB).
	MinPartitionSize int64
	// ParallelismFirst is ...coalescePartitions.parallelismFirst (true):
	// coalesce no further than one partition per core of the cluster.
	ParallelismFirst bool
}

// MB is a mebibyte, the unit Spark's "64MB" means.
const MB = 1 << 20

// DefaultAQE returns Spark 4's AQE defaults.
func DefaultAQE() AQE {
	return AQE{
		Enabled: true, Coalesce: true, SkewJoin: true,
		SkewedPartitionFactor: 5, SkewedPartitionThreshold: 256 * MB,
		AdvisoryPartitionSize: 64 * MB, MinPartitionSize: 1 * MB, ParallelismFirst: true,
	}
}

// Validate reports settings AQE could not use.
func (a AQE) Validate() error {
	switch {
	case a.SkewedPartitionFactor < 1:
		return fmt.Errorf("aqe: skewedPartitionFactor %v is below 1: every partition would be larger than its median times it", a.SkewedPartitionFactor)
	case a.SkewedPartitionThreshold < 0, a.AdvisoryPartitionSize <= 0, a.MinPartitionSize < 0:
		return fmt.Errorf("aqe: sizes must be positive (threshold %d, advisory %d, min %d bytes)", a.SkewedPartitionThreshold, a.AdvisoryPartitionSize, a.MinPartitionSize)
	}
	return nil
}

// Median is the median of sizes as OptimizeSkewedJoin computes it: the
// middle value, or the mean of the two middle ones, and at least 1.
func Median(sizes []int64) int64 {
	if len(sizes) == 0 {
		return 1
	}
	s := slices.Clone(sizes)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return max(m, 1)
}

// SkewThreshold is the size above which a partition counts as skewed:
// max(SkewedPartitionThreshold, SkewedPartitionFactor x median).
func (a AQE) SkewThreshold(sizes []int64) int64 {
	return max(a.SkewedPartitionThreshold, int64(a.SkewedPartitionFactor*float64(Median(sizes))))
}

// SplitTarget is the size a skewed partition is cut into: the larger of
// the advisory size and the mean of the partitions that are not skewed.
func (a AQE) SplitTarget(sizes []int64) int64 {
	th := a.SkewThreshold(sizes)
	var sum, n int64
	for _, s := range sizes {
		if s <= th {
			sum += s
			n++
		}
	}
	if n == 0 {
		return a.AdvisoryPartitionSize
	}
	return max(a.AdvisoryPartitionSize, sum/n)
}

// Two factors of ShufflePartitionsUtil: a split smaller than 0.2 x target,
// or two neighbours together under 1.2 x target, merge into one.
const (
	smallSplitFactor  = 0.2
	mergedSplitFactor = 1.2
)

// SplitBySize cuts a list of block sizes (one per map task, in map order)
// into contiguous groups of about target bytes and returns the index where
// each group starts. A group closes before the block that would take it
// past target; a group that ends up tiny (under 0.2 x target), or that
// together with the previous one stays under 1.2 x target, joins the
// previous group. A single block is never cut: one map task's output for a
// partition is the smallest unit AQE can move, which is why a hot key that
// sits in few map tasks splits into few parts.
func SplitBySize(blocks []int64, target int64) []int {
	starts := []int{0}
	cur, last := int64(0), int64(-1)
	mergeTail := func() {
		t := float64(target)
		if last >= 0 && (float64(cur+last) < t*mergedSplitFactor ||
			float64(cur) < t*smallSplitFactor || float64(last) < t*smallSplitFactor) {
			starts = starts[:len(starts)-1]
			last += cur
			return
		}
		last = cur
	}
	for i, b := range blocks {
		if i > 0 && cur+b > target {
			mergeTail()
			starts = append(starts, i)
			cur = b
			continue
		}
		cur += b
	}
	mergeTail()
	return starts
}

// Split is AQE's decision about one reduce partition of a join side.
type Split struct {
	Partition int
	Size      int64
	// Parts is how many tasks read it: 1 when it is not split.
	Parts int
	// Starts is where each part begins in the map-block list.
	Starts []int
}

// ErrNoBlocks is returned for a shuffle without partitions or map tasks.
var ErrNoBlocks = errors.New("aqe: no partitions or no map blocks")

// SkewSplits applies the skew-join rule to one side of a sort-merge join.
// blocks[p][m] is the bytes map task m wrote for reduce partition p. Each
// partition larger than SkewThreshold is cut with SplitBySize into parts
// of about SplitTarget; the others keep one part. It returns one Split per
// partition. (Whether the rule may run at all depends on the join type and
// on the plan: see SplittableSides and the notebook.)
func (a AQE) SkewSplits(blocks [][]int64) ([]Split, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if len(blocks) == 0 || len(blocks[0]) == 0 {
		return nil, ErrNoBlocks
	}
	sizes := make([]int64, len(blocks))
	for p, row := range blocks {
		if len(row) != len(blocks[0]) {
			return nil, fmt.Errorf("aqe: partition %d has %d map blocks, partition 0 has %d", p, len(row), len(blocks[0]))
		}
		for m, b := range row {
			if b < 0 {
				return nil, fmt.Errorf("aqe: block %d of partition %d has negative size %d", m, p, b)
			}
			sizes[p] += b
		}
	}
	th, target := a.SkewThreshold(sizes), a.SplitTarget(sizes)
	out := make([]Split, len(blocks))
	for p, row := range blocks {
		out[p] = Split{Partition: p, Size: sizes[p], Parts: 1, Starts: []int{0}}
		if sizes[p] > th {
			st := SplitBySize(row, target)
			out[p].Parts, out[p].Starts = len(st), st
		}
	}
	return out, nil
}

// JoinType names a join as Spark's planner does.
type JoinType string

// The join types the skew rule distinguishes.
const (
	Inner      JoinType = "inner"
	LeftOuter  JoinType = "left_outer"
	RightOuter JoinType = "right_outer"
	FullOuter  JoinType = "full_outer"
	LeftSemi   JoinType = "left_semi"
	LeftAnti   JoinType = "left_anti"
	Cross      JoinType = "cross"
)

// SplittableSides says which sides of a join the skew rule may split
// (OptimizeSkewedJoin's canSplitLeftSide / canSplitRightSide): the left for
// inner, cross, left semi, left anti and left outer; the right for inner,
// cross and right outer. A full outer join can split neither: a skewed
// partition there stays one task whatever the settings.
func SplittableSides(j JoinType) (left, right bool) {
	switch j {
	case Inner, Cross:
		return true, true
	case LeftOuter, LeftSemi, LeftAnti:
		return true, false
	case RightOuter:
		return false, true
	}
	return false, false
}

// CoalesceTarget is the size AQE coalesces reduce partitions to: the
// advisory size, but (with ParallelismFirst) no more than total / cores so
// that every core still gets a partition, and no less than
// MinPartitionSize.
func (a AQE) CoalesceTarget(total int64, cores int) int64 {
	target := a.AdvisoryPartitionSize
	if a.ParallelismFirst && cores > 0 {
		target = min(target, (total+int64(cores)-1)/int64(cores))
	}
	return max(target, a.MinPartitionSize, 1)
}

// CoalesceRanges merges neighbouring reduce partitions while their total
// stays within target and returns the first partition of each group.
func CoalesceRanges(sizes []int64, target int64) []int {
	if len(sizes) == 0 {
		return nil
	}
	starts := []int{0}
	var cur int64
	for i, s := range sizes {
		if i > 0 && cur+s > target {
			starts = append(starts, i)
			cur = 0
		}
		cur += s
	}
	return starts
}

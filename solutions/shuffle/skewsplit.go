package shuffle

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/shuffle"
)

// SkewSplits applies AQE's skew-join rule to one side of a sort-merge
// join. blocks[p][m] is the bytes map task m wrote for reduce partition p.
// A partition is skewed when its size is larger than both
// a.SkewedPartitionThreshold and a.SkewedPartitionFactor x the median size
// (shuffle.Median). A skewed partition is cut with shuffle.SplitBySize
// into groups of map blocks of about the target size: the larger of
// a.AdvisoryPartitionSize and the mean size of the partitions that are not
// skewed. It returns, per partition, how many tasks read it (1 when it is
// not split). No partitions, ragged rows or a negative block are errors.
//
//dsgym:exercise shuffle/skewsplit
func SkewSplits(blocks [][]int64, a shuffle.AQE) ([]int, error) {
	//dsgym:solution
	if len(blocks) == 0 || len(blocks[0]) == 0 {
		return nil, fmt.Errorf("no partitions or no map blocks")
	}
	sizes := make([]int64, len(blocks))
	for p, row := range blocks {
		if len(row) != len(blocks[0]) {
			return nil, fmt.Errorf("partition %d has %d map blocks, partition 0 has %d", p, len(row), len(blocks[0]))
		}
		for m, b := range row {
			if b < 0 {
				return nil, fmt.Errorf("block %d of partition %d is negative (%d bytes)", m, p, b)
			}
			sizes[p] += b
		}
	}
	threshold := max(a.SkewedPartitionThreshold, int64(a.SkewedPartitionFactor*float64(shuffle.Median(sizes))))
	var sum, n int64
	for _, s := range sizes {
		if s <= threshold {
			sum, n = sum+s, n+1
		}
	}
	target := a.AdvisoryPartitionSize
	if n > 0 {
		target = max(target, sum/n)
	}
	parts := make([]int, len(blocks))
	for p, row := range blocks {
		parts[p] = 1
		if sizes[p] > threshold {
			parts[p] = len(shuffle.SplitBySize(row, target))
		}
	}
	return parts, nil
	//dsgym:stub
	// panic("not implemented yet: SkewSplits: threshold = max(SkewedPartitionThreshold, factor x median); target = max(advisory, mean of the non-skewed); a skewed partition splits into len(shuffle.SplitBySize(blocks, target)) parts")
	//dsgym:end
}

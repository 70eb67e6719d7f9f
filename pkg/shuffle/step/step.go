// Package step holds the types of notebook 07's exercises (Spark shuffle
// skew): the rows of a salted aggregation and the signatures of the
// functions a learner writes. The AQE and speculation types are
// pkg/shuffle's.
package step

import (
	"hash/fnv"
	"strconv"

	"github.com/dsgym/dsgym/pkg/shuffle"
)

// Row is one input row of an aggregation: sum Value per Key.
type Row struct {
	Key   string
	Value int64
}

// Salted is what a salted aggregation returns.
type Salted struct {
	// Load[p] is how many rows partition p of the first (salted) stage
	// received: where the skew went.
	Load []int
	// Sums is the result: the total Value of each original key.
	Sums map[string]int64
}

// SaltedKey is the key of a row with its salt: "key#salt".
func SaltedKey(key string, salt int) string { return key + "#" + strconv.Itoa(salt) }

// Partition is the reduce partition of key among n, as a hash
// partitioner picks it (FNV-1a of the key modulo n).
func Partition(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// SaltFunc is the salted aggregation's signature: rows, the number of
// salts and of partitions.
type SaltFunc = func(rows []Row, salts, partitions int) (Salted, error)

// SkewSplitFunc is the AQE skew-split rule's signature: blocks[p][m] is
// the bytes map task m wrote for partition p; the answer is how many tasks
// read each partition (1 when it is not split).
type SkewSplitFunc = func(blocks [][]int64, a shuffle.AQE) ([]int, error)

// SpeculateFunc is the speculation rule's signature: the indexes of the
// running tasks that get a copy now.
type SpeculateFunc = func(tasks []shuffle.TaskState, s shuffle.Speculation) []int

package drill

import (
	"math"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/solutions/shard"
)

// JumpFunc is the signature of the shard/jump exercise.
type JumpFunc = func(key uint64, buckets int) (int, error)

// lampingVeach is the algorithm exactly as published (Lamping and Veach
// 2014, figure 1), kept here so the agreement check compares against the
// paper rather than against the reference solution.
func lampingVeach(key uint64, numBuckets int32) int32 {
	var b, j int64 = -1, 0
	for j < int64(numBuckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int32(b)
}

func jumpKeys(n int) []uint64 {
	r := rng("jump-keys")
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

// Jump is the shard/jump exercise: Lamping and Veach's jump consistent hash.
var Jump = exercise.Register(&exercise.Exercise[JumpFunc]{
	ID:       "shard/jump",
	Title:    "Jump consistent hash",
	Task:     "return key's bucket in [0, buckets) by Lamping and Veach's jump consistent hash; an error when buckets < 1",
	Func:     "Jump",
	Notebook: notebook,
	Hints: [3]string{
		"Think of the bucket count growing 1, 2, 3, ... n. A key starts in bucket 0; each time a bucket is added, it jumps to the new bucket with probability 1/(new count), else stays. Where it sits when the count reaches n is the answer. Now skip the counts where it stays.",
		"Drive a pseudo-random sequence from the key itself: key = key*2862933555777941757 + 1 (a 64-bit LCG). From bucket b, the next count at which the key jumps is j = floor((b+1) * 2^31 / ((key>>33) + 1)). Loop while j < buckets, remembering b = j before each step; start from b = -1, j = 0.",
		"b, j := int64(-1), int64(0); for j < int64(buckets) { b = j; key = key*2862933555777941757 + 1; j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1))) }; return int(b), nil. Check buckets < 1 (and > math.MaxInt32) first.",
	},
	Reference: shard.Jump,
	Probe:     func(f JumpFunc) { _, _ = f(42, 10) },
	Checks: []exercise.Check[JumpFunc]{
		{Name: "with one bucket every key is in bucket 0", Hint: 1, Run: func(t exercise.T, f JumpFunc) {
			for _, k := range jumpKeys(200) {
				got, err := f(k, 1)
				require.NoErrorf(t, err, "Jump(%d, 1)", k)
				require.Equalf(t, 0, got, "Jump(%d, 1)", k)
			}
		}},
		{Name: "every bucket is in [0, buckets)", Hint: 1, Run: func(t exercise.T, f JumpFunc) {
			for _, n := range []int{2, 7, 100, 1000, 1 << 20} {
				for _, k := range jumpKeys(2000) {
					got, err := f(k, n)
					require.NoErrorf(t, err, "Jump(%d, %d)", k, n)
					require.Truef(t, got >= 0 && got < n, "Jump(%d, %d) = %d, outside [0, %d)", k, n, got, n)
				}
			}
		}},
		{Name: "the same key and bucket count always give the same bucket", Hint: 1, Run: func(t exercise.T, f JumpFunc) {
			for _, k := range jumpKeys(500) {
				a, err := f(k, 37)
				require.NoErrorf(t, err, "Jump(%d, 37)", k)
				b, _ := f(k, 37)
				require.Equalf(t, a, b, "Jump(%d, 37) called twice", k)
			}
		}},
		{Name: "adding a bucket moves keys only into the new bucket", Hint: 2, Run: func(t exercise.T, f JumpFunc) {
			for _, k := range jumpKeys(1000) {
				prev, err := f(k, 1)
				require.NoErrorf(t, err, "Jump(%d, 1)", k)
				for n := 2; n <= 64; n++ {
					got, err := f(k, n)
					require.NoErrorf(t, err, "Jump(%d, %d)", k, n)
					require.Truef(t, got == prev || got == n-1,
						"Jump(%d, %d) = %d but Jump(%d, %d) = %d: growing to %d buckets moved the key to old bucket %d (only stay or move to %d is allowed)",
						k, n-1, prev, k, n, got, n, got, n-1)
					prev = got
				}
			}
		}},
		{Name: "10 buckets each get 10% of 100,000 keys (max/mean <= 1.03)", Hint: 2, Run: func(t exercise.T, f JumpFunc) {
			counts := make([]int, 10)
			for _, k := range jumpKeys(100_000) {
				got, err := f(k, 10)
				require.NoErrorf(t, err, "Jump(%d, 10)", k)
				if got < 0 || got >= 10 {
					require.Failf(t, "bucket out of range", "Jump(%d, 10) = %d", k, got)
				}
				counts[got]++
			}
			most := 0
			for _, c := range counts {
				most = max(most, c)
			}
			require.LessOrEqualf(t, float64(most)/10_000, 1.03, "keys per bucket over 100,000 keys and 10 buckets: %v; the fullest has %.3f x the mean", counts, float64(most)/10_000)
		}},
		{Name: "going from 10 to 11 buckets moves 1/11 of the keys (within 10%)", Hint: 2, Run: func(t exercise.T, f JumpFunc) {
			moved := 0
			keys := jumpKeys(50_000)
			for _, k := range keys {
				a, err := f(k, 10)
				require.NoErrorf(t, err, "Jump(%d, 10)", k)
				b, err := f(k, 11)
				require.NoErrorf(t, err, "Jump(%d, 11)", k)
				if a != b {
					moved++
				}
			}
			frac := float64(moved) / float64(len(keys))
			require.InDeltaf(t, 1.0/11, frac, 0.1/11, "fraction of 50,000 keys that changed bucket from 10 to 11 buckets = %.4f, ideal 1/11 = %.4f", frac, 1.0/11)
		}},
		{Name: "agrees with Lamping and Veach's published algorithm on 10,000 keys", Hint: 3, Run: func(t exercise.T, f JumpFunc) {
			for i, k := range jumpKeys(10_000) {
				n := []int{1, 2, 3, 10, 100, 1000, 65536, math.MaxInt32}[i%8]
				got, err := f(k, n)
				require.NoErrorf(t, err, "Jump(%d, %d)", k, n)
				require.Equalf(t, int(lampingVeach(k, int32(n))), got, "Jump(%d, %d)", k, n)
			}
		}},
		{Name: "a bucket count below 1 or above 2^31-1 is an error, not a panic", Hint: 1, Run: func(t exercise.T, f JumpFunc) {
			for _, n := range []int{0, -1, -100, math.MaxInt32 + 1} {
				got, err := f(7, n)
				require.Errorf(t, err, "Jump(7, %d) returned %d and no error", n, got)
			}
		}},
	},
})

// Package shard holds the reference solutions of the sharding chapter's
// exercises (notebooks/04-sharding.ipynb): jump consistent hashing, the
// composite (shard, time bucket) key of a time-series store, reads fanned
// out over a hot customer's salts, and a sliding-window heavy-hitter
// detector. pkg/shard and its sub-packages run on these references, so the
// code you are compared with is the code the experiments use.
package shard

import (
	"fmt"
	"math"
)

// Jump maps a 64-bit key (a hash) to a bucket in [0, buckets) with Lamping
// and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent Hash
// Algorithm", 2014): no table, no memory, and when buckets grows from n to
// n+1 a key either keeps its bucket or moves to the new bucket n, which gets
// a fair 1/(n+1) share. buckets must be in [1, 2^31).
//
//dsgym:exercise shard/jump
func Jump(key uint64, buckets int) (int, error) {
	//dsgym:solution
	if buckets < 1 || buckets > math.MaxInt32 {
		return 0, fmt.Errorf("jump: buckets must be in [1, 2^31), got %d", buckets)
	}
	// b is the bucket the key is in so far; j is the next bucket count at
	// which the key would jump. Each step draws j from a seeded linear
	// congruential sequence so that P(key jumps at n) = 1/n.
	b, j := int64(-1), int64(0)
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b), nil
	//dsgym:stub
	// panic("not implemented yet: Jump: return key's bucket in [0, buckets) by Lamping and Veach's jump consistent hash; an error when buckets < 1")
	//dsgym:end
}

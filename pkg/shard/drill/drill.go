// Package drill defines the exercises of notebooks/04-sharding.ipynb: jump
// consistent hashing (shard/jump), the composite (shard, time bucket) key
// (shard/partition), reads fanned out over a hot customer's salts
// (shard/salting) and a sliding-window heavy-hitter detector
// (shard/detector). Each has checks named after the property they judge,
// three hints and the reference from solutions/shard; drill_test.go shows
// every check catching a known-bad implementation.
package drill

import (
	"math/rand/v2"

	"github.com/dsgym/dsgym/pkg/sim"
)

const notebook = "04-sharding.ipynb"

// rng returns the seeded generator a check draws its inputs from: the same
// inputs on every run, and no global random source.
func rng(name string) *rand.Rand { return sim.NewRand(4, "drill/shard/"+name) }

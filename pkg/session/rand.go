package session

import (
	"hash/fnv"
	"math/rand/v2"
)

// newRand returns the random stream name of a run with the given seed.
//
// sim.NewRand seeds PCG with (seed, fnv(name)) directly; for names that
// differ in one character ("session/0", "session/3", ...) the first draws
// are then correlated in their low bits, which is what IntN(2) uses (all
// of one region's sessions picked the same replica). Running both words
// through splitmix64 first removes the correlation.
func newRand(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := h.Sum64()
	return rand.New(rand.NewPCG(splitmix(seed^splitmix(x)), splitmix(x+0x9e3779b97f4a7c15)))
}

func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

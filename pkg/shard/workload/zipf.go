package workload

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Zipf draws ranks 0..n-1 with P(rank r) roughly proportional to
// 1/(r+1)^theta, by the method of Gray et al., "Quickly generating
// billion-record synthetic databases" (SIGMOD 1994), the generator YCSB uses.
// It needs no table, so n can be huge, and it works for 0 < theta < 1, where
// math/rand/v2's Zipf (which needs s > 1) cannot go: YCSB's default skew is
// theta = 0.99. For theta > 1 it uses math/rand/v2's generator.
//
// Gray's method is exact for ranks 0 and 1 and a close approximation beyond;
// when n is small enough for a table, [NewAlias] over [ZipfWeights] samples
// the exact distribution faster.
type Zipf struct {
	rng                      *rand.Rand
	n                        uint64
	theta, alpha, zetan, eta float64
	half                     float64 // 1 + 0.5^theta
	large                    *rand.Zipf
}

// NewZipf returns a generator of ranks in [0, n) with exponent theta, drawing
// from rng (seeded by the caller).
func NewZipf(rng *rand.Rand, n int, theta float64) (*Zipf, error) {
	switch {
	case rng == nil:
		return nil, errors.New("zipf: nil random source")
	case n < 1:
		return nil, fmt.Errorf("zipf: n must be at least 1, got %d", n)
	case math.IsNaN(theta) || theta <= 0:
		return nil, fmt.Errorf("zipf: theta must be > 0, got %v (use a uniform draw for 0)", theta)
	case theta == 1:
		return nil, errors.New("zipf: theta = 1 is the one exponent neither method covers; use 0.99 or 1.01, or NewAlias(ZipfWeights(n, 1))")
	}
	z := &Zipf{rng: rng, n: uint64(n), theta: theta}
	if theta > 1 {
		z.large = rand.NewZipf(rng, theta, 1, uint64(n-1))
		return z, nil
	}
	z.zetan = zeta(n, theta)
	z.alpha = 1 / (1 - theta)
	z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta(2, theta)/z.zetan)
	z.half = 1 + math.Pow(0.5, theta)
	return z, nil
}

// zeta returns the generalised harmonic number sum_{i=1..n} 1/i^theta.
func zeta(n int, theta float64) float64 {
	s := 0.0
	for i := 1; i <= n; i++ {
		s += math.Pow(float64(i), -theta)
	}
	return s
}

// Next returns the next rank, 0 being the most frequent.
func (z *Zipf) Next() int {
	if z.large != nil {
		return int(z.large.Uint64())
	}
	u := z.rng.Float64()
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.half:
		return min(1, int(z.n-1))
	}
	r := uint64(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return int(min(r, z.n-1))
}

// ZipfWeights returns the exact Zipf weights 1/(r+1)^s for ranks 0..n-1,
// normalised to sum to 1 (s = 0 gives uniform weights).
func ZipfWeights(n int, s float64) ([]float64, error) {
	if n < 1 {
		return nil, fmt.Errorf("zipf weights: n must be at least 1, got %d", n)
	}
	if math.IsNaN(s) || s < 0 || math.IsInf(s, 0) {
		return nil, fmt.Errorf("zipf weights: exponent must be finite and >= 0, got %v", s)
	}
	w := make([]float64, n)
	sum := 0.0
	for r := range w {
		w[r] = math.Pow(float64(r+1), -s)
		sum += w[r]
	}
	for r := range w {
		w[r] /= sum
	}
	return w, nil
}

// Alias samples an index with probability proportional to its weight in
// O(1) per draw (Walker's alias method, in Vose's construction): one 64-bit
// random number picks a column and flips its biased coin. It is what lets
// the ingest simulator draw tens of millions of events a second.
type Alias struct {
	n       uint64
	entries []aliasEntry
}

type aliasEntry struct {
	threshold uint32 // keep the column when the coin is below this (of 2^32)
	alias     int32
}

// NewAlias builds a sampler over weights (non-negative, finite, at least one
// positive, at most 2^31 of them).
func NewAlias(weights []float64) (*Alias, error) {
	n := len(weights)
	if n == 0 {
		return nil, errors.New("alias: no weights")
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("alias: %d weights is more than 2^31", n)
	}
	sum := 0.0
	for i, w := range weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, fmt.Errorf("alias: weight %d is %v: weights must be finite and >= 0", i, w)
		}
		sum += w
	}
	if sum == 0 {
		return nil, errors.New("alias: every weight is 0")
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, w := range weights {
		scaled[i] = w / sum * float64(n)
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	a := &Alias{n: uint64(n), entries: make([]aliasEntry, n)}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.entries[s] = aliasEntry{threshold: uint32(scaled[s] * (1 << 32)), alias: l}
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left has probability 1 (up to rounding): always keep it.
	for _, i := range append(small, large...) {
		a.entries[i] = aliasEntry{threshold: math.MaxUint32, alias: i}
	}
	return a, nil
}

// Len returns the number of indices the sampler draws from.
func (a *Alias) Len() int { return int(a.n) }

// Pick maps one uniform 64-bit random number to an index.
func (a *Alias) Pick(u uint64) int {
	col, frac := bits.Mul64(u, a.n)
	e := a.entries[col]
	if uint32(frac>>32) < e.threshold {
		return int(col)
	}
	return int(e.alias)
}

// Coded is an alias sampler that returns a 16-bit code per index (a shard
// slot, say) instead of the index, with the codes stored in the table: one
// draw reads one 8-byte entry and takes no branch, which keeps a sampler
// over 100K customers at a few nanoseconds a draw.
type Coded struct {
	n       uint64
	entries []codedEntry
}

type codedEntry struct {
	threshold   uint32
	self, alias uint16
}

// Coded returns a sampler drawing code[i] with the probability of index i.
func (a *Alias) Coded(code []uint16) (*Coded, error) {
	if len(code) != int(a.n) {
		return nil, fmt.Errorf("alias: %d codes for %d indices", len(code), a.n)
	}
	c := &Coded{n: a.n, entries: make([]codedEntry, a.n)}
	for i, e := range a.entries {
		c.entries[i] = codedEntry{threshold: e.threshold, self: code[i], alias: code[e.alias]}
	}
	return c, nil
}

// Pick maps one uniform 64-bit random number to a code.
func (c *Coded) Pick(u uint64) uint16 {
	col, frac := bits.Mul64(u, c.n)
	e := c.entries[col]
	keep := (uint64(frac>>32) - uint64(e.threshold)) >> 63 // 1 when the coin keeps the column
	return uint16(uint64(e.alias) ^ ((uint64(e.self) ^ uint64(e.alias)) & -keep))
}

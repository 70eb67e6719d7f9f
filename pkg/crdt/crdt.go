// Package crdt holds the state-based replicated data types the
// multi-region chapter merges with: a PN-counter, an add-wins OR-set and a
// last-writer-wins register. Each merge is commutative, associative and
// idempotent, so replicas that have seen the same updates hold the same
// state whatever order the merges came in (Shapiro, Preguiça, Baquero and
// Zawirski, "A comprehensive study of Convergent and Commutative
// Replicated Data Types", INRIA RR-7506, 2011).
package crdt

import (
	"cmp"
	"maps"
	"slices"
)

// PNCounter counts up and down: per replica, the increments (P) and the
// decrements (N) it made; the value is their sums' difference.
type PNCounter struct {
	P, N map[string]uint64
}

// NewPNCounter returns a counter at 0.
func NewPNCounter() PNCounter { return PNCounter{P: map[string]uint64{}, N: map[string]uint64{}} }

// Add adds d (negative to subtract) on replica r.
func (c PNCounter) Add(r string, d int64) {
	if d >= 0 {
		c.P[r] += uint64(d)
	} else {
		c.N[r] += uint64(-d)
	}
}

// Value is the count.
func (c PNCounter) Value() int64 {
	var v int64
	for _, x := range c.P {
		v += int64(x)
	}
	for _, x := range c.N {
		v -= int64(x)
	}
	return v
}

// Merge returns the entrywise maximum of both counters.
func (c PNCounter) Merge(o PNCounter) PNCounter {
	m := NewPNCounter()
	for _, src := range []PNCounter{c, o} {
		for r, x := range src.P {
			m.P[r] = max(m.P[r], x)
		}
		for r, x := range src.N {
			m.N[r] = max(m.N[r], x)
		}
	}
	return m
}

// Dot identifies one add: the replica that made it and its counter there.
type Dot struct {
	Replica string
	Seq     uint64
}

// ORSet is an observed-remove set with add-wins semantics: every add gets
// a unique dot, a remove deletes the dots it has observed, so an add
// concurrent with a remove (a dot the remover had not seen) survives.
type ORSet struct {
	adds    map[string]map[Dot]bool // element -> live dots
	removed map[Dot]bool            // tombstones: dots removed anywhere
	seq     map[string]uint64
}

// NewORSet returns an empty set.
func NewORSet() *ORSet {
	return &ORSet{adds: map[string]map[Dot]bool{}, removed: map[Dot]bool{}, seq: map[string]uint64{}}
}

// Add adds element e on replica r.
func (s *ORSet) Add(r, e string) {
	s.seq[r]++
	d := Dot{r, s.seq[r]}
	if s.adds[e] == nil {
		s.adds[e] = map[Dot]bool{}
	}
	s.adds[e][d] = true
}

// Remove removes e as this replica sees it: the dots it has observed.
func (s *ORSet) Remove(e string) {
	for d := range s.adds[e] {
		s.removed[d] = true
	}
	delete(s.adds, e)
}

// Contains reports whether e is in the set.
func (s *ORSet) Contains(e string) bool { return len(s.adds[e]) > 0 }

// Elements returns the elements, sorted.
func (s *ORSet) Elements() []string {
	var out []string
	for e, ds := range s.adds {
		if len(ds) > 0 {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// Merge returns the union of both sets' dots minus both sets' tombstones.
func (s *ORSet) Merge(o *ORSet) *ORSet {
	m := NewORSet()
	maps.Copy(m.removed, s.removed)
	maps.Copy(m.removed, o.removed)
	for _, src := range []*ORSet{s, o} {
		for e, ds := range src.adds {
			for d := range ds {
				if m.removed[d] {
					continue
				}
				if m.adds[e] == nil {
					m.adds[e] = map[Dot]bool{}
				}
				m.adds[e][d] = true
			}
		}
		for r, n := range src.seq {
			m.seq[r] = max(m.seq[r], n)
		}
	}
	return m
}

// LWW is a last-writer-wins register: the write with the largest
// timestamp wins, ties broken by replica name. A write that loses to a
// concurrent one with a later timestamp is gone: a lost update.
type LWW[T any] struct {
	Value   T
	At      int64 // timestamp (an HLC's L*2^32+C, or wall-clock ns)
	Replica string
	set     bool
}

// Set writes v at timestamp at on replica r, if it wins.
func (l LWW[T]) Set(v T, at int64, r string) LWW[T] {
	n := LWW[T]{Value: v, At: at, Replica: r, set: true}
	return l.Merge(n)
}

// Merge keeps the later write.
func (l LWW[T]) Merge(o LWW[T]) LWW[T] {
	switch {
	case !o.set:
		return l
	case !l.set:
		return o
	case cmp.Or(cmp.Compare(o.At, l.At), cmp.Compare(o.Replica, l.Replica)) > 0:
		return o
	}
	return l
}

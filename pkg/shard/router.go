package shard

import (
	"errors"
	"fmt"
	"sync"
)

// Router is the lookup layer in front of the shards while data migrates
// from one layout to another (adding or removing shards, or changing
// scheme). The hash space is cut into a fixed number of ranges; a migration
// copies range after range in the background. For each key, Route says
// where to read and where to write:
//
//   - no migration: read and write the current owner;
//   - during a migration, range not yet copied: read the old owner, write
//     both old and new owners (dual writes, so nothing written during the
//     copy is lost);
//   - range copied ([Router.Done]): read and write the new owner only; the
//     old copy can be deleted.
//
// When every range is done, the new layout becomes the current one. The
// state a client needs (two partitioner specs and a bitmap of done ranges,
// with a version number) is small enough for every client to cache, which
// is how lookup services such as Vitess's VSchema, Couchbase's vBucket map
// or Bigtable's METADATA tablet work.
type Router struct {
	mu      sync.RWMutex
	cur     Partitioner
	next    Partitioner
	bits    int
	done    []bool
	left    int
	version uint64
}

// NewRouter routes with p, over 2^rangeBits ranges of the hash space
// (rangeBits in [0, 20]).
func NewRouter(p Partitioner, rangeBits int) (*Router, error) {
	if p == nil {
		return nil, errors.New("router: nil partitioner")
	}
	if rangeBits < 0 || rangeBits > 20 {
		return nil, fmt.Errorf("router: range bits must be in [0, 20], got %d", rangeBits)
	}
	return &Router{cur: p, bits: rangeBits, version: 1}, nil
}

// Ranges returns how many ranges the hash space is cut into.
func (r *Router) Ranges() int { return 1 << r.bits }

// RangeOf returns the range a key hash belongs to.
func (r *Router) RangeOf(h uint64) int {
	if r.bits == 0 {
		return 0
	}
	return int(h >> (64 - r.bits))
}

// RangeBounds returns the first and last hash of range i.
func (r *Router) RangeBounds(i int) (lo, hi uint64, err error) {
	if i < 0 || i >= r.Ranges() {
		return 0, 0, fmt.Errorf("router: no range %d (there are %d)", i, r.Ranges())
	}
	if r.bits == 0 {
		return 0, ^uint64(0), nil
	}
	lo = uint64(i) << (64 - r.bits)
	return lo, lo | (^uint64(0) >> r.bits), nil
}

// Begin starts migrating to next. It is an error while another migration
// runs.
func (r *Router) Begin(next Partitioner) error {
	if next == nil {
		return errors.New("router: nil partitioner")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next != nil {
		return fmt.Errorf("router: a migration to %v is in progress (%d of %d ranges left)", r.next.Spec(), r.left, r.Ranges())
	}
	r.next, r.done, r.left = next, make([]bool, r.Ranges()), r.Ranges()
	r.version++
	return nil
}

// Route returns the shard to read a key hash from, and the shards to write
// it to (one, or two during its range's migration).
func (r *Router) Route(h uint64) (read int, writes []int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	old := r.cur.ShardOf(h)
	if r.next == nil {
		return old, []int{old}
	}
	nw := r.next.ShardOf(h)
	if r.done[r.RangeOf(h)] {
		return nw, []int{nw}
	}
	if nw == old {
		return old, []int{old}
	}
	return old, []int{old, nw}
}

// Owners returns the old and new owner of a key hash during a migration
// (both the current owner when none runs): a range's copy moves the keys
// whose owners differ.
func (r *Router) Owners(h uint64) (old, next int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	old = r.cur.ShardOf(h)
	if r.next == nil {
		return old, old
	}
	return old, r.next.ShardOf(h)
}

// Done marks range i as copied: its keys are now read from the new layout.
// When it is the last range, the new layout becomes the current one.
func (r *Router) Done(i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == nil {
		return errors.New("router: no migration in progress")
	}
	if i < 0 || i >= len(r.done) {
		return fmt.Errorf("router: no range %d (there are %d)", i, len(r.done))
	}
	if r.done[i] {
		return fmt.Errorf("router: range %d is already done", i)
	}
	r.done[i] = true
	r.left--
	r.version++
	if r.left == 0 {
		r.cur, r.next, r.done = r.next, nil, nil
	}
	return nil
}

// Migrating reports whether a migration runs, and how many ranges are left.
func (r *Router) Migrating() (bool, int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.next != nil, r.left
}

// Current returns the layout in force (the old one during a migration).
func (r *Router) Current() Partitioner {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur
}

// Version increases with every change of routing state; clients that cache
// the routing table refresh when a shard answers with a newer version.
func (r *Router) Version() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.version
}

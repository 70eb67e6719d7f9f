package shard

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/cespare/xxhash/v2"

	solution "github.com/dsgym/dsgym/solutions/shard"
)

// Scheme names a partitioning algorithm.
type Scheme string

// The partitioning schemes.
const (
	// Modulo is hash mod N: perfectly simple, well balanced, and it moves
	// almost every key when N changes.
	Modulo Scheme = "modulo"
	// Ring is a consistent-hash ring (Karger et al., 1997; Dynamo,
	// Cassandra): each shard owns the arcs before its virtual nodes. More
	// virtual nodes, better balance, more memory.
	Ring Scheme = "ring"
	// Jump is Lamping and Veach's jump consistent hash: no memory, near
	// perfect balance and minimal movement, but shards are numbered slots:
	// only the last one can leave without extra movement.
	Jump Scheme = "jump"
	// Rendezvous is highest-random-weight hashing (Thaler and Ravishankar,
	// 1998): each key goes to the shard with the highest score
	// hash(key, shard). Any shard can leave; lookups cost O(N).
	Rendezvous Scheme = "rendezvous"
)

// Schemes lists every scheme, in the order the notebook shows them.
func Schemes() []Scheme { return []Scheme{Modulo, Ring, Jump, Rendezvous} }

// Spec describes a partitioner independently of its shards.
type Spec struct {
	Scheme Scheme
	// VNodes is the ring's virtual nodes per shard (Ring only; 0 means 256).
	VNodes int
}

// String names the spec: "ring (256 vnodes)", "jump", ...
func (s Spec) String() string {
	if s.Scheme == Ring {
		return fmt.Sprintf("ring (%d vnodes)", s.vnodes())
	}
	return string(s.Scheme)
}

func (s Spec) vnodes() int {
	if s.VNodes == 0 {
		return 256
	}
	return s.VNodes
}

// Partitioner maps a key's 64-bit hash to a shard id.
type Partitioner interface {
	// Spec returns the scheme and its parameters.
	Spec() Spec
	// Shards returns the shard ids in slot order (a copy).
	Shards() []int
	// ShardOf returns the shard id of a key hash.
	ShardOf(h uint64) int
}

// New returns a partitioner of spec over the shard ids, in slot order (the
// order matters for Modulo and Jump, which number their slots).
func New(spec Spec, ids []int) (Partitioner, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	ids = slices.Clone(ids)
	switch spec.Scheme {
	case Modulo:
		return &modulo{ids: ids, n: uint64(len(ids))}, nil
	case Jump:
		if len(ids) > math.MaxInt32 {
			return nil, fmt.Errorf("shard: jump hash takes at most 2^31-1 shards, got %d", len(ids))
		}
		return &jump{ids: ids}, nil
	case Rendezvous:
		r := &rendezvous{ids: ids, seeds: make([]uint64, len(ids))}
		for i, id := range ids {
			r.seeds[i] = Hash("shard-" + strconv.Itoa(id))
		}
		return r, nil
	case Ring:
		v := spec.vnodes()
		if v < 1 || v > 1<<16 {
			return nil, fmt.Errorf("shard: ring virtual nodes per shard must be in [1, 65536], got %d", spec.VNodes)
		}
		if len(ids)*v > 1<<26 {
			return nil, fmt.Errorf("shard: %d shards x %d virtual nodes is more than 2^26 ring points", len(ids), v)
		}
		return newRing(ids, v), nil
	case "":
		return nil, fmt.Errorf("shard: no scheme given (one of %v)", Schemes())
	}
	return nil, fmt.Errorf("shard: unknown scheme %q (one of %v)", spec.Scheme, Schemes())
}

// NewN returns a partitioner of spec over shards 0..n-1.
func NewN(spec Spec, n int) (Partitioner, error) {
	ids, err := Seq(n)
	if err != nil {
		return nil, err
	}
	return New(spec, ids)
}

// Grow returns p with one more shard, whose id is one more than the largest.
// Every consistent scheme moves only keys that go to the new shard.
func Grow(p Partitioner) (Partitioner, error) {
	if p == nil {
		return nil, fmt.Errorf("shard: nil partitioner")
	}
	ids := p.Shards()
	return New(p.Spec(), append(ids, maxID(ids)+1))
}

// Shrink returns p without shard id. For the slot-numbered schemes (Modulo,
// Jump) the last slot's shard takes over the removed slot, which is the best
// jump hash can do: removing the last shard moves only its keys, removing
// another one also reshuffles the last shard's keys.
func Shrink(p Partitioner, id int) (Partitioner, error) {
	if p == nil {
		return nil, fmt.Errorf("shard: nil partitioner")
	}
	ids := p.Shards()
	i := slices.Index(ids, id)
	if i < 0 {
		return nil, fmt.Errorf("shard: no shard %d to remove (shards %v)", id, ids)
	}
	if len(ids) == 1 {
		return nil, fmt.Errorf("shard: cannot remove shard %d, the last one", id)
	}
	switch p.Spec().Scheme {
	case Modulo, Jump:
		ids[i] = ids[len(ids)-1]
		ids = ids[:len(ids)-1]
	default:
		ids = slices.Delete(ids, i, i+1)
	}
	return New(p.Spec(), ids)
}

type modulo struct {
	ids []int
	n   uint64
}

func (m *modulo) Spec() Spec           { return Spec{Scheme: Modulo} }
func (m *modulo) Shards() []int        { return slices.Clone(m.ids) }
func (m *modulo) ShardOf(h uint64) int { return m.ids[h%m.n] }

type jump struct{ ids []int }

func (j *jump) Spec() Spec    { return Spec{Scheme: Jump} }
func (j *jump) Shards() []int { return slices.Clone(j.ids) }
func (j *jump) ShardOf(h uint64) int {
	b, _ := solution.Jump(h, len(j.ids)) // len is checked in New
	return j.ids[b]
}

type rendezvous struct {
	ids   []int
	seeds []uint64
}

func (r *rendezvous) Spec() Spec    { return Spec{Scheme: Rendezvous} }
func (r *rendezvous) Shards() []int { return slices.Clone(r.ids) }

// ShardOf scores every shard with a strong 64-bit mix of (key hash, shard
// seed) and returns the highest; ties (astronomically rare) go to the
// earlier slot.
func (r *rendezvous) ShardOf(h uint64) int {
	best, bestScore := 0, uint64(0)
	for i, s := range r.seeds {
		if sc := mix64(h ^ s); sc > bestScore || i == 0 {
			best, bestScore = i, sc
		}
	}
	return r.ids[best]
}

// mix64 is the finaliser of MurmurHash3 (fmix64): every input bit affects
// every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// ring is a consistent-hash ring. A key belongs to the first point at or
// after its hash, wrapping around. Lookups start from a 2^16-entry index of
// the hash space, so they scan a point or two instead of binary searching
// tens of thousands.
type ring struct {
	ids    []int
	vnodes int
	points []uint64 // sorted positions
	owner  []int32  // slot of the shard owning points[i]
	index  []uint32 // index[b] = first point >= b<<48
}

const ringIndexBits = 16

func newRing(ids []int, vnodes int) *ring {
	type pt struct {
		pos  uint64
		slot int32
	}
	pts := make([]pt, 0, len(ids)*vnodes)
	var buf []byte
	for slot, id := range ids {
		for v := range vnodes {
			buf = strconv.AppendInt(append(buf[:0], "shard-"...), int64(id), 10)
			buf = strconv.AppendInt(append(buf, '#'), int64(v), 10)
			pts = append(pts, pt{xxhash.Sum64(buf), int32(slot)})
		}
	}
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].pos != pts[j].pos {
			return pts[i].pos < pts[j].pos
		}
		return ids[pts[i].slot] < ids[pts[j].slot]
	})
	r := &ring{ids: ids, vnodes: vnodes, points: make([]uint64, len(pts)), owner: make([]int32, len(pts)), index: make([]uint32, 1<<ringIndexBits+1)}
	for i, p := range pts {
		r.points[i], r.owner[i] = p.pos, p.slot
	}
	j := 0
	for b := range 1 << ringIndexBits {
		for j < len(r.points) && r.points[j] < uint64(b)<<(64-ringIndexBits) {
			j++
		}
		r.index[b] = uint32(j)
	}
	r.index[1<<ringIndexBits] = uint32(len(r.points))
	return r
}

func (r *ring) Spec() Spec    { return Spec{Scheme: Ring, VNodes: r.vnodes} }
func (r *ring) Shards() []int { return slices.Clone(r.ids) }

func (r *ring) ShardOf(h uint64) int {
	i := int(r.index[h>>(64-ringIndexBits)])
	end := int(r.index[h>>(64-ringIndexBits)+1])
	for i < end && r.points[i] < h {
		i++
	}
	if i == len(r.points) {
		i = 0 // past the last point: wrap to the first
	}
	return r.ids[r.owner[i]]
}

// Arcs returns the fraction of the hash space each shard owns on the ring,
// by shard id: the load a shard gets from uniformly hashed keys.
func Arcs(p Partitioner) (map[int]float64, error) {
	r, ok := p.(*ring)
	if !ok {
		return nil, fmt.Errorf("shard: arcs are defined for a ring, not %v", p.Spec())
	}
	out := make(map[int]float64, len(r.ids))
	prev := r.points[len(r.points)-1]
	for i, pos := range r.points {
		arc := pos - prev // unsigned: wraps around the ring for i == 0
		out[r.ids[r.owner[i]]] += float64(arc) / math.Exp2(64)
		prev = pos
	}
	if len(r.points) == 1 {
		out[r.ids[r.owner[0]]] = 1
	}
	return out, nil
}

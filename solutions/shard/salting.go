package shard

import (
	"errors"
	"fmt"

	"github.com/dsgym/dsgym/pkg/shard/tsdb"
)

// ReadSalted reads a salted customer's points. The customer's writes are
// spread over salts sub-shards (salt 0..salts-1); read(salt) returns one
// salt's points in time order. ReadSalted calls read exactly once per salt,
// then merges the results into one slice in time order: points with equal
// timestamps come in salt order (lower salt first), and in their order
// within a salt. It is an error when salts < 1, when read is nil, when a read
// fails (the error names the salt), or when a salt returns points out of time
// order (the merge would silently interleave them wrongly).
//
//dsgym:exercise shard/salting
func ReadSalted(salts int, read func(salt int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
	//dsgym:solution
	if salts < 1 {
		return nil, fmt.Errorf("read salted: salt factor must be at least 1, got %d", salts)
	}
	if read == nil {
		return nil, errors.New("read salted: nil read function")
	}
	streams := make([][]tsdb.Point, salts)
	total := 0
	for s := range streams {
		pts, err := read(s)
		if err != nil {
			return nil, fmt.Errorf("read salted: salt %d: %w", s, err)
		}
		for i := 1; i < len(pts); i++ {
			if pts[i].At.Before(pts[i-1].At) {
				return nil, fmt.Errorf("read salted: salt %d returned point %d (%s) before point %d (%s): not in time order",
					s, i, pts[i].At.UTC().Format("15:04:05.000000000"), i-1, pts[i-1].At.UTC().Format("15:04:05.000000000"))
			}
		}
		streams[s] = pts
		total += len(pts)
	}
	// A k-way merge: a binary min-heap of the salts that still have points,
	// ordered by (time of their next point, salt).
	next := make([]int, salts)
	before := func(a, b int) bool {
		ta, tb := streams[a][next[a]].At, streams[b][next[b]].At
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a < b
	}
	var heap []int
	down := func(i int) {
		for {
			l, small := 2*i+1, i
			if l < len(heap) && before(heap[l], heap[small]) {
				small = l
			}
			if r := l + 1; r < len(heap) && before(heap[r], heap[small]) {
				small = r
			}
			if small == i {
				return
			}
			heap[i], heap[small] = heap[small], heap[i]
			i = small
		}
	}
	for s := range streams {
		if len(streams[s]) > 0 {
			heap = append(heap, s)
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	out := make([]tsdb.Point, 0, total)
	for len(heap) > 0 {
		s := heap[0]
		out = append(out, streams[s][next[s]])
		next[s]++
		if next[s] == len(streams[s]) {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		down(0)
	}
	return out, nil
	//dsgym:stub
	// panic("not implemented yet: ReadSalted: call read once per salt 0..salts-1 and merge the points in time order (ties: lower salt first)")
	//dsgym:end
}

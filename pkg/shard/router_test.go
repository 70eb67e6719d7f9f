package shard

import (
	"fmt"
	"testing"

	"github.com/dsgym/dsgym/pkg/sim"
)

// kv is a toy sharded key-value store driven through a Router: what the
// routing layer promises is that every read finds the latest write, at
// every step of a migration.
type kv struct {
	r      *Router
	shards map[int]map[uint64]int
}

func (s *kv) put(h uint64, v int) {
	_, writes := s.r.Route(h)
	for _, w := range writes {
		if s.shards[w] == nil {
			s.shards[w] = map[uint64]int{}
		}
		s.shards[w][h] = v
	}
}

func (s *kv) get(h uint64) (int, bool) {
	read, _ := s.r.Route(h)
	v, ok := s.shards[read][h]
	return v, ok
}

// migrate copies range i's moving keys from their old owner to their new
// one, then flips the range; it returns how many keys it copied.
func (s *kv) migrate(i int) int {
	lo, hi, _ := s.r.RangeBounds(i)
	copied := 0
	for shardID, m := range s.shards {
		for h, v := range m {
			if h < lo || h > hi {
				continue
			}
			old, nw := s.r.Owners(h)
			if old == shardID && nw != old {
				if s.shards[nw] == nil {
					s.shards[nw] = map[uint64]int{}
				}
				s.shards[nw][h] = v
				copied++
			}
		}
	}
	if err := s.r.Done(i); err != nil {
		panic(err)
	}
	return copied
}

func TestReadsStayCorrectWhileRangesMigrate(t *testing.T) {
	for _, sp := range []Spec{{Scheme: Modulo}, {Scheme: Ring, VNodes: 64}, {Scheme: Jump}, {Scheme: Rendezvous}} {
		t.Run(sp.String()+": every read sees the latest write during a 10 to 11 shard migration", func(t *testing.T) {
			rng := sim.NewRand(3, "router")
			p, _ := NewN(sp, 10)
			r, err := NewRouter(p, 6)
			if err != nil {
				t.Fatal(err)
			}
			s := &kv{r: r, shards: map[int]map[uint64]int{}}
			keys := customerHashes(t, 3000)
			latest := map[uint64]int{}
			write := func(n int) {
				for range n {
					h := keys[rng.IntN(len(keys))]
					v := rng.Int()
					s.put(h, v)
					latest[h] = v
				}
			}
			verify := func(when string) {
				for h, want := range latest {
					if got, ok := s.get(h); !ok || got != want {
						t.Fatalf("%s: key %x reads %d (found %v), latest write was %d", when, h, got, ok, want)
					}
				}
			}
			write(5000)
			q, _ := Grow(p)
			if err := r.Begin(q); err != nil {
				t.Fatal(err)
			}
			if err := r.Begin(q); err == nil {
				t.Fatal("a second Begin during a migration returned no error")
			}
			copied := 0
			for i := range r.Ranges() {
				write(50) // writes land while ranges move
				verify(fmt.Sprintf("before range %d", i))
				copied += s.migrate(i)
				verify(fmt.Sprintf("after range %d", i))
			}
			if on, _ := r.Migrating(); on {
				t.Fatal("still migrating after every range is done")
			}
			if r.Current().Spec() != q.Spec() || len(r.Current().Shards()) != 11 {
				t.Fatalf("current layout is %v over %d shards, want the new one", r.Current().Spec(), len(r.Current().Shards()))
			}
			verify("after the migration")
			m, _ := Moved(p, q, keys, nil)
			if copied > m.Keys {
				t.Errorf("copied %d keys, but only %d change owner", copied, m.Keys)
			}
		})
	}
}

func TestRouterBadInput(t *testing.T) {
	p, _ := NewN(Spec{Scheme: Jump}, 4)
	if _, err := NewRouter(nil, 4); err == nil {
		t.Error("NewRouter(nil) returned no error")
	}
	if _, err := NewRouter(p, 21); err == nil {
		t.Error("NewRouter with 21 range bits returned no error")
	}
	r, _ := NewRouter(p, 2)
	if err := r.Done(0); err == nil {
		t.Error("Done without a migration returned no error")
	}
	_ = r.Begin(p)
	if err := r.Done(4); err == nil {
		t.Error("Done(4) of 4 ranges returned no error")
	}
	_ = r.Done(1)
	if err := r.Done(1); err == nil {
		t.Error("Done twice on a range returned no error")
	}
	if _, _, err := r.RangeBounds(-1); err == nil {
		t.Error("RangeBounds(-1) returned no error")
	}
}

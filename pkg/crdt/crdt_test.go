package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// replicas applies random operations at three replicas and merges them in
// random orders; every merge order must end in the same state.
func TestReplicasConvergeWhateverTheMergeOrder(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		names := []string{"us", "eu", "ap"}
		counters := []PNCounter{NewPNCounter(), NewPNCounter(), NewPNCounter()}
		sets := []*ORSet{NewORSet(), NewORSet(), NewORSet()}
		var want int64
		for i := 0; i < 60; i++ {
			x := r.IntN(3)
			d := int64(r.IntN(11) - 5)
			counters[x].Add(names[x], d)
			want += d
			e := fmt.Sprint("e", r.IntN(6))
			if r.IntN(3) == 0 {
				sets[x].Remove(e)
			} else {
				sets[x].Add(names[x], e)
			}
			if r.IntN(4) == 0 { // gossip
				y := r.IntN(3)
				sets[y] = sets[y].Merge(sets[x])
				counters[y] = counters[y].Merge(counters[x])
			}
		}
		var results [][]string
		var values []int64
		for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}} {
			s := sets[order[0]].Merge(sets[order[1]]).Merge(sets[order[2]])
			c := counters[order[0]].Merge(counters[order[1]]).Merge(counters[order[2]])
			results = append(results, s.Elements())
			values = append(values, c.Value())
			// idempotent
			if !slices.Equal(s.Merge(s).Elements(), s.Elements()) {
				t.Fatalf("seed %d: merging a set with itself changed it", seed)
			}
		}
		for i := 1; i < len(results); i++ {
			if !slices.Equal(results[i], results[0]) || values[i] != values[0] {
				t.Fatalf("seed %d: merge orders disagree: %v vs %v, %d vs %d", seed, results[0], results[i], values[0], values[i])
			}
		}
		if values[0] != want {
			t.Fatalf("seed %d: counter converged to %d, the sum of every update is %d", seed, values[0], want)
		}
	}
}

func TestAnAddConcurrentWithARemoveSurvives(t *testing.T) {
	a, b := NewORSet(), NewORSet()
	a.Add("us", "x")
	b = b.Merge(a)
	b.Remove("x")    // eu removes the x it saw
	a.Add("us", "x") // meanwhile us adds x again
	m := a.Merge(b)
	if !m.Contains("x") {
		t.Error("the concurrent add lost to the remove: add-wins is broken")
	}
	n := NewORSet().Merge(b)
	if n.Contains("x") {
		t.Error("the observed remove did not remove")
	}
}

func TestLastWriterWinsLosesTheConcurrentEarlierWrite(t *testing.T) {
	var reg LWW[string]
	us := reg.Set("from us", 100, "us")
	eu := reg.Set("from eu", 90, "eu") // concurrent, earlier timestamp
	if got := us.Merge(eu); got.Value != "from us" {
		t.Errorf("merge kept %q", got.Value)
	}
	if got := eu.Merge(us); got.Value != "from us" {
		t.Errorf("merge in the other order kept %q", got.Value)
	}
	tie1, tie2 := reg.Set("a", 5, "ap"), reg.Set("b", 5, "us")
	if tie1.Merge(tie2).Value != tie2.Merge(tie1).Value {
		t.Error("a tie is broken differently depending on merge order")
	}
}

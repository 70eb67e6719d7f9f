// Package drill defines the exercises of notebooks/07-spark-shuffle-skew:
// a salted aggregation (shuffle/salt), AQE's skew-join split rule
// (shuffle/skewsplit) and Spark's speculation rule (shuffle/speculate).
package drill

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shuffle/step"
	ref "github.com/dsgym/dsgym/solutions/shuffle"
)

const notebook = "07-spark-shuffle-skew.ipynb"

// SaltFunc is SaltedSum's signature.
type SaltFunc = step.SaltFunc

// randomRows draws n rows over keys keys from seed, key "k0" holding about
// half of them (a hot key), values in [-50, 50).
func randomRows(seed uint64, n, keys int) []step.Row {
	r := rand.New(rand.NewPCG(seed, 7))
	rows := make([]step.Row, n)
	for i := range rows {
		k := 0
		if r.IntN(2) == 0 {
			k = r.IntN(keys)
		}
		rows[i] = step.Row{Key: fmt.Sprintf("k%d", k), Value: int64(r.IntN(100) - 50)}
	}
	return rows
}

func plainSums(rows []step.Row) map[string]int64 {
	m := map[string]int64{}
	for _, r := range rows {
		m[r.Key] += r.Value
	}
	return m
}

// wantLoad is where rows land in the salted stage: row i at the partition
// of its key salted with i % salts.
func wantLoad(rows []step.Row, salts, partitions int) []int {
	l := make([]int, partitions)
	for i, r := range rows {
		l[step.Partition(step.SaltedKey(r.Key, i%salts), partitions)]++
	}
	return l
}

func hotRows(n int) []step.Row {
	rows := make([]step.Row, n)
	for i := range rows {
		rows[i] = step.Row{Key: "hot", Value: 1}
	}
	return rows
}

// SaltedSum is exercise shuffle/salt.
var SaltedSum = exercise.Register(&exercise.Exercise[SaltFunc]{
	ID:       "shuffle/salt",
	Title:    "A salted aggregation and its merge step",
	Task:     "sum values per key in two stages: salt each row so that a hot key spreads over several partitions, then merge the partial sums per original key",
	Func:     "SaltedSum",
	Notebook: notebook,
	Hints: [3]string{
		"Salting turns one key into several: \"hot#0\" ... \"hot#7\" hash to different partitions, so eight tasks share the hot key's rows. The price is a second stage that puts the pieces back together.",
		"Stage one: for row i, s := i % salts; count the row in Load[step.Partition(step.SaltedKey(row.Key, s), partitions)] and add its Value to a partial sum keyed by (key, s). Stage two: for every (key, s) partial, Sums[key] += partial.",
		"Check salts >= 1 and partitions >= 1 first. Keep the partials in a map[struct{ key string; salt int }]int64: then Sums never sees a salted key.",
	},
	Reference: ref.SaltedSum,
	Probe:     func(f SaltFunc) { _, _ = f(nil, 1, 1) },
	Checks: []exercise.Check[SaltFunc]{
		{Name: "the sums equal an unsalted aggregation, on 5 seeded inputs with a hot key", Hint: 2, Run: func(t exercise.T, f SaltFunc) {
			for seed := uint64(1); seed <= 5; seed++ {
				rows := randomRows(seed, 2000, 50)
				got, err := f(rows, 8, 16)
				if err != nil {
					t.Errorf("seed %d: %v", seed, err)
					return
				}
				if want := plainSums(rows); !maps.Equal(got.Sums, want) {
					for k, v := range want {
						if got.Sums[k] != v {
							t.Errorf("seed %d: Sums[%q] = %d, want %d (%d keys returned, %d expected)", seed, k, got.Sums[k], v, len(got.Sums), len(want))
							return
						}
					}
					t.Errorf("seed %d: Sums has %d keys, want the %d original ones", seed, len(got.Sums), len(want))
					return
				}
			}
		}},
		{Name: "the result has the original keys, not salted ones: the merge step ran", Hint: 2, Run: func(t exercise.T, f SaltFunc) {
			got, err := f(hotRows(100), 4, 8)
			if err != nil {
				t.Errorf("%v", err)
				return
			}
			for k := range got.Sums {
				if strings.Contains(k, "#") {
					t.Errorf("Sums has key %q: the partial sums were not merged back per original key", k)
					return
				}
			}
			if got.Sums["hot"] != 100 {
				t.Errorf("Sums[\"hot\"] = %d, want 100", got.Sums["hot"])
			}
		}},
		{Name: "a hot key's 1,000 rows spread over its 8 salted keys' partitions (row i gets salt i % salts)", Hint: 1, Run: func(t exercise.T, f SaltFunc) {
			rows := hotRows(1000)
			got, err := f(rows, 8, 64)
			if err != nil {
				t.Errorf("%v", err)
				return
			}
			if want := wantLoad(rows, 8, 64); !slices.Equal(got.Load, want) {
				t.Errorf("Load = %v;\nwant %v: the busiest partition holds %d rows, want %d", got.Load, want, slices.Max(append([]int{0}, got.Load...)), slices.Max(want))
			}
		}},
		{Name: "with one salt, Load is plain hash partitioning of the keys", Hint: 1, Run: func(t exercise.T, f SaltFunc) {
			rows := randomRows(9, 500, 20)
			got, err := f(rows, 1, 10)
			if err != nil {
				t.Errorf("%v", err)
				return
			}
			if want := wantLoad(rows, 1, 10); !slices.Equal(got.Load, want) {
				t.Errorf("Load = %v, want %v", got.Load, want)
			}
		}},
		{Name: "salts or partitions below 1 are an error", Hint: 3, Run: func(t exercise.T, f SaltFunc) {
			for _, c := range [][2]int{{0, 4}, {4, 0}, {-1, 4}} {
				if _, err := f(hotRows(3), c[0], c[1]); err == nil {
					t.Errorf("SaltedSum(rows, %d, %d) returned no error", c[0], c[1])
				}
			}
		}},
	},
	Timeout: 10 * time.Second,
})

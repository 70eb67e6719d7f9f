package drill

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	"github.com/dsgym/dsgym/solutions/shard"
)

// ReadSaltedFunc is the signature of the shard/salting exercise.
type ReadSaltedFunc = func(salts int, read func(salt int) ([]tsdb.Point, error)) ([]tsdb.Point, error)

var t0 = time.Date(2025, 10, 26, 13, 0, 0, 0, time.UTC)

// saltedData returns per-salt points in time order. Each point's Value
// encodes (salt, index in salt) as salt*1e6 + index, so order and identity
// can be checked. ties makes timestamps collide across salts.
func saltedData(name string, salts, perSalt int, ties bool) [][]tsdb.Point {
	r := rng("salted/" + name)
	out := make([][]tsdb.Point, salts)
	for s := range out {
		at := t0
		for i := range perSalt {
			if ties {
				at = t0.Add(time.Duration(i/8) * time.Second) // groups of 8 equal timestamps per salt
			} else {
				at = at.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
			}
			out[s] = append(out[s], tsdb.Point{At: at, Value: float64(s*1_000_000 + i)})
		}
	}
	return out
}

func reader(data [][]tsdb.Point, calls []int) func(int) ([]tsdb.Point, error) {
	return func(s int) ([]tsdb.Point, error) {
		if s < 0 || s >= len(data) {
			return nil, fmt.Errorf("no salt %d", s)
		}
		if calls != nil {
			calls[s]++
		}
		return append([]tsdb.Point(nil), data[s]...), nil
	}
}

func describe(p tsdb.Point) string {
	v := int(p.Value)
	return fmt.Sprintf("(salt %d, #%d at %s)", v/1_000_000, v%1_000_000, p.At.Format("15:04:05.000"))
}

// ReadSalted is the shard/salting exercise: read every salt of a hot
// customer and merge the results in time order.
var ReadSalted = exercise.Register(&exercise.Exercise[ReadSaltedFunc]{
	ID:       "shard/salting",
	Title:    "Salted reads: fan out, merge in time order",
	Task:     "call read once per salt 0..salts-1 and merge the points in time order (ties: lower salt first); errors for salts < 1, a failed read, or a salt out of order",
	Func:     "ReadSalted",
	Notebook: notebook,
	Hints: [3]string{
		"Salting spread the customer's writes over salts 0..k-1, so a read must visit all of them: salt 0 too, each exactly once. Each salt's points are already in time order; concatenating them is not.",
		"This is a k-way merge: keep one cursor per salt and repeatedly take the earliest head; on equal times take the lower salt. With k up to 64, a scan over the k heads per output point works; a min-heap of salts keyed by (head time, salt) is O(log k). A stable sort (sort.SliceStable) of the concatenation in salt order also keeps ties right. Before merging, check each salt's points are in order and wrap read errors with the salt number.",
		"streams := make([][]tsdb.Point, salts); for s := range streams { pts, err := read(s); if err != nil { return nil, fmt.Errorf(\"salt %d: %w\", s, err) }; check pts[i].At >= pts[i-1].At; streams[s] = pts }; then next := make([]int, salts) and loop: pick the s with next[s] < len(streams[s]) whose streams[s][next[s]].At is earliest (lowest s on ties), append it, next[s]++, until none is left.",
	},
	Reference: shard.ReadSalted,
	Probe: func(f ReadSaltedFunc) {
		_, _ = f(2, reader(saltedData("probe", 2, 3, false), nil))
	},
	Checks: []exercise.Check[ReadSaltedFunc]{
		{Name: "an unsalted customer (one salt) reads back exactly its points", Hint: 1, Run: func(t exercise.T, f ReadSaltedFunc) {
			data := saltedData("one", 1, 50, false)
			got, err := f(1, reader(data, nil))
			require.NoErrorf(t, err, "ReadSalted(1, ...)")
			require.Equalf(t, len(data[0]), len(got), "ReadSalted(1, ...) returned %d points, salt 0 has", len(got))
			for i := range got {
				require.Equalf(t, describe(data[0][i]), describe(got[i]), "ReadSalted(1, ...): point %d", i)
			}
		}},
		{Name: "every salt 0..k-1 is read exactly once", Hint: 1, Run: func(t exercise.T, f ReadSaltedFunc) {
			for _, k := range []int{2, 5, 16} {
				calls := make([]int, k)
				_, err := f(k, reader(saltedData("calls", k, 10, false), calls))
				require.NoErrorf(t, err, "ReadSalted(%d, ...)", k)
				want := make([]int, k)
				for i := range want {
					want[i] = 1
				}
				require.Equalf(t, want, calls, "ReadSalted(%d, ...): reads per salt 0..%d", k, k-1)
			}
		}},
		{Name: "the merged points are in time order", Hint: 2, Run: func(t exercise.T, f ReadSaltedFunc) {
			for _, k := range []int{2, 8, 64} {
				got, err := f(k, reader(saltedData("order", k, 200, false), nil))
				require.NoErrorf(t, err, "ReadSalted(%d, ...)", k)
				for i := 1; i < len(got); i++ {
					require.Falsef(t, got[i].At.Before(got[i-1].At), "ReadSalted(%d salts of 200 points): point %d %s comes after point %d %s", k, i, describe(got[i]), i-1, describe(got[i-1]))
				}
			}
		}},
		{Name: "no point is lost or duplicated", Hint: 2, Run: func(t exercise.T, f ReadSaltedFunc) {
			for _, ties := range []bool{false, true} {
				data := saltedData(fmt.Sprint("count", ties), 8, 300, ties)
				got, err := f(8, reader(data, nil))
				require.NoErrorf(t, err, "ReadSalted(8, ...)")
				seen := map[float64]int{}
				for _, p := range got {
					seen[p.Value]++
				}
				for _, pts := range data {
					for _, p := range pts {
						require.Equalf(t, 1, seen[p.Value], "ReadSalted(8 salts of 300 points, equal timestamps: %v): copies of %s in the result", ties, describe(p))
					}
				}
				require.Equalf(t, 8*300, len(got), "ReadSalted(8 salts of 300 points, equal timestamps: %v): number of points", ties)
			}
		}},
		{Name: "equal timestamps come in salt order, then in each salt's order", Hint: 2, Run: func(t exercise.T, f ReadSaltedFunc) {
			data := saltedData("ties", 16, 64, true)
			got, err := f(16, reader(data, nil))
			require.NoErrorf(t, err, "ReadSalted(16, ...)")
			want, _ := shard.ReadSalted(16, reader(data, nil))
			require.Equalf(t, len(want), len(got), "ReadSalted(16 salts, groups of equal timestamps): number of points")
			for i := range want {
				require.Equalf(t, describe(want[i]), describe(got[i]), "ReadSalted(16 salts, groups of equal timestamps): point %d", i)
			}
		}},
		{Name: "a failed read is an error that names the salt", Hint: 1, Run: func(t exercise.T, f ReadSaltedFunc) {
			boom := errors.New("shard 5 unreachable")
			data := saltedData("fail", 4, 10, false)
			got, err := f(4, func(s int) ([]tsdb.Point, error) {
				if s == 2 {
					return nil, boom
				}
				return reader(data, nil)(s)
			})
			require.Errorf(t, err, "ReadSalted(4, ...) where reading salt 2 fails returned %d points and no error", len(got))
			require.Truef(t, errors.Is(err, boom), "ReadSalted(4, ...) where salt 2 fails: error %q does not wrap the read's error (use %%w)", err)
			require.Truef(t, strings.Contains(err.Error(), "2"), "ReadSalted(4, ...) where salt 2 fails: error %q does not say which salt", err)
		}},
		{Name: "a salt returning points out of time order is an error", Hint: 2, Run: func(t exercise.T, f ReadSaltedFunc) {
			data := saltedData("unordered", 3, 10, false)
			data[1][4], data[1][5] = data[1][5], data[1][4]
			got, err := f(3, reader(data, nil))
			require.Errorf(t, err, "ReadSalted(3, ...) where salt 1 returns its points 4 and 5 swapped returned %d points and no error", len(got))
		}},
		{Name: "salts below 1 and a nil read are errors", Hint: 1, Run: func(t exercise.T, f ReadSaltedFunc) {
			data := saltedData("bad", 2, 3, false)
			for _, k := range []int{0, -1} {
				got, err := f(k, reader(data, nil))
				require.Errorf(t, err, "ReadSalted(%d, ...) returned %d points and no error", k, len(got))
			}
			got, err := f(2, nil)
			require.Errorf(t, err, "ReadSalted(2, nil) returned %d points and no error", len(got))
		}},
	},
})

// Package drill defines the exercises of notebooks/01-cap-pacelc.ipynb:
// deciding a quorum read with read repair (quorum/read-repair) and
// classifying a quorum configuration (quorum/classify), with their checks,
// hints and references. The read exercise is also judged where it lives: on
// the replicated register of package quorum, whose histories porcupine
// checks.
package drill

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/quorum"
	"github.com/dsgym/dsgym/pkg/quorum/replica"
	"github.com/dsgym/dsgym/pkg/sim"
	solution "github.com/dsgym/dsgym/solutions/quorum"
)

const notebook = "01-cap-pacelc.ipynb"

// QuorumReadFunc is the signature of the exercise quorum/read-repair.
type QuorumReadFunc = func(r int, replies []replica.Reply) (replica.Resolution, error)

// ClassifyFunc is the signature of the exercise quorum/classify.
type ClassifyFunc = func(n, r, w int, sloppy bool) (replica.Profile, error)

func v(stamp int64, node int, seq uint64) replica.Version {
	return replica.Version{Stamp: stamp, Node: node, Seq: seq}
}

func has(node, value string, ver replica.Version) replica.Reply {
	return replica.Reply{Node: node, Found: true, Value: value, Version: ver}
}

func none(node string) replica.Reply { return replica.Reply{Node: node} }

// answer checks the value part of a resolution.
func answer(t exercise.T, f QuorumReadFunc, r int, in []replica.Reply, value string, ver replica.Version) replica.Resolution {
	t.Helper()
	got, err := f(r, slices.Clone(in))
	require.NoErrorf(t, err, "QuorumRead(%d, %v)", r, in)
	require.Truef(t, got.Done, "QuorumRead(%d, %v) is not done with %d replicas answering", r, in, len(in))
	require.Truef(t, got.Found, "QuorumRead(%d, %v) found nothing", r, in)
	require.Equalf(t, value, got.Value, "QuorumRead(%d, %v): the value", r, in)
	require.Equalf(t, ver, got.Version, "QuorumRead(%d, %v): the version", r, in)
	return got
}

// QuorumRead is the exercise quorum/read-repair.
var QuorumRead = exercise.Register(&exercise.Exercise[QuorumReadFunc]{
	ID:       "quorum/read-repair",
	Title:    "Quorum read with read repair",
	Task:     "once r distinct replicas answered, return the newest value by Version and the replicas to repair; not done before",
	Func:     "QuorumRead",
	Notebook: notebook,
	Hints: [3]string{
		"Count replicas, not replies: the network can deliver one reply twice. Until R different replicas have answered, the read is not done. Then ask what \"newest\" means here: not the largest value, not the last reply to arrive.",
		"Last write wins: the answer is the reply with the largest Version, which orders by Stamp, then Node, then Seq (Version.Newer does it). Use every reply received so far, even beyond R. Read repair: each replica whose reply is older than the answer, or empty, should be sent the answer; list them in the order they first answered. If no replica holds the key, the answer is \"not found\" and nobody needs repair.",
		"Return an error for r < 1 or a reply with an empty Node. Keep a map node -> its newest reply and a slice of nodes in first-seen order. If len(order) < r, return Resolution{}. Otherwise pick the newest Found reply over order (rep.Version.Newer(best.Version)); if there is none, return Resolution{Done: true}. Finally Repair = the nodes in order whose reply is !Found or older than the answer.",
	},
	Reference: solution.QuorumRead,
	Probe: func(f QuorumReadFunc) {
		_, _ = f(1, []replica.Reply{has("us-east", "v", v(1, 0, 1))})
	},
	Checks: []exercise.Check[QuorumReadFunc]{
		{Name: "it waits until R distinct replicas have answered", Hint: 1, Run: func(t exercise.T, f QuorumReadFunc) {
			for _, c := range []struct {
				r  int
				in []replica.Reply
			}{
				{2, []replica.Reply{has("a", "x", v(5, 0, 1))}},
				{3, []replica.Reply{has("a", "x", v(5, 0, 1)), has("b", "x", v(5, 0, 1))}},
				{2, []replica.Reply{has("a", "x", v(5, 0, 1)), has("a", "x", v(5, 0, 1))}},
				{3, []replica.Reply{none("a"), has("b", "x", v(5, 0, 1)), none("a"), has("b", "x", v(5, 0, 1))}},
			} {
				got, err := f(c.r, slices.Clone(c.in))
				require.NoErrorf(t, err, "QuorumRead(%d, %v)", c.r, c.in)
				require.Falsef(t, got.Done, "QuorumRead(%d, %v) says done with fewer than %d distinct replicas", c.r, c.in, c.r)
			}
			in := []replica.Reply{has("a", "x", v(5, 0, 1)), none("b")}
			got, err := f(2, slices.Clone(in))
			require.NoErrorf(t, err, "QuorumRead(2, %v)", in)
			require.Truef(t, got.Done, "QuorumRead(2, %v) is not done although 2 replicas answered", in)
		}},
		{Name: "the newest version wins, not the largest value nor the last reply", Hint: 2, Run: func(t exercise.T, f QuorumReadFunc) {
			old, mid, latest := has("a", "zebra", v(10, 2, 9)), has("b", "mango", v(20, 0, 1)), has("c", "apple", v(30, 1, 1))
			for _, in := range [][]replica.Reply{{old, mid, latest}, {latest, mid, old}, {mid, latest, old}, {old, latest}} {
				answer(t, f, 2, in, "apple", v(30, 1, 1))
			}
		}},
		{Name: "equal stamps are ordered by node, then by sequence", Hint: 2, Run: func(t exercise.T, f QuorumReadFunc) {
			answer(t, f, 2, []replica.Reply{has("a", "from-n2", v(7, 2, 1)), has("b", "from-n1", v(7, 1, 9))}, "from-n2", v(7, 2, 1))
			answer(t, f, 2, []replica.Reply{has("a", "second", v(7, 1, 2)), has("b", "first", v(7, 1, 1))}, "second", v(7, 1, 2))
			answer(t, f, 2, []replica.Reply{has("a", "first", v(7, 1, 1)), has("b", "second", v(7, 1, 2))}, "second", v(7, 1, 2))
		}},
		{Name: "every reply counts, even beyond the first R", Hint: 2, Run: func(t exercise.T, f QuorumReadFunc) {
			in := []replica.Reply{has("a", "old", v(1, 0, 1)), has("b", "old", v(1, 0, 1)), has("c", "new", v(2, 0, 2))}
			answer(t, f, 2, in, "new", v(2, 0, 2))
			// a replica that answered twice counts with its newest answer
			in = []replica.Reply{has("a", "old", v(1, 0, 1)), has("b", "new", v(2, 0, 2)), has("a", "new", v(2, 0, 2))}
			got := answer(t, f, 2, in, "new", v(2, 0, 2))
			require.Emptyf(t, got.Repair, "QuorumRead(2, %v): repairs, although a's newest answer is up to date", in)
		}},
		{Name: "replicas behind the answer, or empty, are repaired in the order they answered", Hint: 2, Run: func(t exercise.T, f QuorumReadFunc) {
			for _, c := range []struct {
				in   []replica.Reply
				want []string
			}{
				{[]replica.Reply{has("a", "new", v(9, 0, 1)), has("b", "old", v(3, 1, 1)), none("c")}, []string{"b", "c"}},
				{[]replica.Reply{none("c"), has("b", "old", v(3, 1, 1)), has("a", "new", v(9, 0, 1))}, []string{"c", "b"}},
				{[]replica.Reply{has("a", "new", v(9, 0, 1)), has("b", "new", v(9, 0, 1))}, nil},
				{[]replica.Reply{has("a", "new", v(9, 0, 1)), has("b", "old", v(3, 1, 1)), has("b", "old", v(3, 1, 1))}, []string{"b"}},
			} {
				got := answer(t, f, 2, c.in, "new", v(9, 0, 1))
				if len(c.want) == 0 {
					require.Emptyf(t, got.Repair, "QuorumRead(2, %v): repair list", c.in)
				} else {
					require.Equalf(t, c.want, got.Repair, "QuorumRead(2, %v): repair list", c.in)
				}
			}
		}},
		{Name: "a key no replica holds is not found and needs no repair", Hint: 1, Run: func(t exercise.T, f QuorumReadFunc) {
			in := []replica.Reply{none("a"), none("b")}
			got, err := f(2, slices.Clone(in))
			require.NoErrorf(t, err, "QuorumRead(2, %v)", in)
			require.Truef(t, got.Done, "QuorumRead(2, %v) is not done", in)
			require.Falsef(t, got.Found, "QuorumRead(2, %v) found %q", in, got.Value)
			require.Emptyf(t, got.Repair, "QuorumRead(2, %v): repair list", in)
		}},
		{Name: "bad input is an error: R below 1, a reply naming no replica", Hint: 1, Run: func(t exercise.T, f QuorumReadFunc) {
			for _, c := range []struct {
				r  int
				in []replica.Reply
			}{
				{0, []replica.Reply{has("a", "x", v(1, 0, 1))}},
				{-1, nil},
				{1, []replica.Reply{has("", "x", v(1, 0, 1))}},
			} {
				got, err := f(c.r, slices.Clone(c.in))
				require.Errorf(t, err, "QuorumRead(%d, %v) returned %+v and no error", c.r, c.in, got)
			}
		}},
		{Name: "the register built on it is linearizable with N=3, R=2, W=2", Hint: 3, Run: func(t exercise.T, f QuorumReadFunc) {
			for seed := uint64(1); seed <= 2; seed++ {
				cfg := quorum.Default()
				cfg.Seed, cfg.Read = seed, f
				w := quorum.DefaultWorkload()
				w.Ops, w.Keys = 1500, 4
				rep := run(cfg, w)
				what := fmt.Sprintf("the register (%s, blocking read repair, %d operations on %d keys, seed %d)", cfg.Name(), w.Ops, w.Keys, seed)
				require.NoErrorf(t, rep.err, "%s", what)
				require.Zerof(t, rep.Counters.ResolveErrors, "%s: QuorumRead returned an error on %d reads", what, rep.Counters.ResolveErrors)
				require.Zerof(t, rep.Staleness.Stale, "%s: %d stale reads, which R + W > N rules out when every read waits for R distinct replicas", what, rep.Staleness.Stale)
				res, err := linz.Check(rep.History, 10*time.Second)
				require.NoErrorf(t, err, "%s", what)
				require.Truef(t, res.OK(), "%s: porcupine says %v", what, res)
			}
		}},
		{Name: "read repair brings replicas left behind by a partition up to date", Hint: 2, Run: func(t exercise.T, f QuorumReadFunc) {
			base := offBaseline()
			require.NoErrorf(t, base.err, "the baseline run without read repair")
			got := behindAfterHeal(f, quorum.RepairAsync)
			require.NoErrorf(t, got.err, "the register with asynchronous read repair")
			require.Lessf(t, got.behind, base.behind/2,
				"key-seconds of replicas left behind after the partition heals (%s, async read repair, seed 1): got %.1f, want under half of the %.1f without any repair", convergenceConfig(nil, quorum.RepairAsync).Name(), got.behind, base.behind)
		}},
	},
})

type runResult struct {
	*quorum.Report
	err error
}

// run runs the register and re-raises a panic of the read function, so
// that a stub is reported as not implemented and a crash as a crash.
func run(cfg quorum.Config, w quorum.Workload) runResult {
	rep, err := quorum.Run(cfg, w)
	var pe *quorum.PanicError
	if errors.As(err, &pe) {
		panic(pe.Value)
	}
	if rep == nil {
		rep = &quorum.Report{}
	}
	return runResult{rep, err}
}

func convergenceConfig(f QuorumReadFunc, mode quorum.RepairMode) quorum.Config {
	cfg := quorum.Default()
	cfg.Repair, cfg.Read = mode, f
	return cfg
}

// ConvergenceWorkload is the workload of the read-repair convergence check
// and of the notebook's experiment: mostly reads over 50 keys, the Americas
// cut off from Europe and Asia from 2 s to 6 s.
func ConvergenceWorkload() quorum.Workload {
	w := quorum.DefaultWorkload()
	w.ReadFraction, w.Keys, w.Ops, w.SampleEvery = 0.9, 50, 1500, 500*time.Millisecond
	w.Faults = []quorum.Fault{{At: 2 * time.Second, Heal: 6 * time.Second, Sides: [][]sim.Region{{sim.USEast, sim.USWest, sim.SAEast}}}}
	return w
}

type behind struct {
	behind float64
	err    error
}

// behindAfterHeal returns the key-seconds of home replicas left behind
// after the partition heals.
func behindAfterHeal(f QuorumReadFunc, mode quorum.RepairMode) behind {
	w := ConvergenceWorkload()
	rep := run(convergenceConfig(f, mode), w)
	if rep.err != nil {
		return behind{err: rep.err}
	}
	heal := w.Faults[0].Heal.Seconds()
	total := 0.0
	for i, at := range rep.DivergentAt {
		if at >= heal {
			total += rep.DivergentOver[i] * w.SampleEvery.Seconds()
		}
	}
	return behind{behind: total}
}

var (
	baselineOnce sync.Once
	baseline     behind
)

func offBaseline() behind {
	baselineOnce.Do(func() { baseline = behindAfterHeal(solution.QuorumRead, quorum.RepairOff) })
	return baseline
}

// Classify is the exercise quorum/classify.
var Classify = exercise.Register(&exercise.Exercise[ClassifyFunc]{
	ID:       "quorum/classify",
	Title:    "What a quorum configuration guarantees",
	Task:     "say whether R and W quorums out of N must overlap (and by how much), and how many replicas each tolerates losing",
	Func:     "Classify",
	Notebook: notebook,
	Hints: [3]string{
		"Draw N boxes and shade R of them for a read and W for a write. Can you place the two so that they miss each other? And what if a sloppy write may land on boxes outside the N?",
		"Pigeonhole: a read quorum and a write quorum out of N replicas share at least R + W - N replicas (and never fewer than 0). Strong means they always share one, with strict quorums: a sloppy quorum can be made of other nodes entirely. Two write quorums always meet when 2W > N. Losing N - R replicas still leaves R to read from.",
		"Validate first: n < 1, or r or w outside 1..n, is an error. Then p := replica.Profile{ReadsSurvive: n - r, WritesSurvive: n - w}; if !sloppy { p.Overlap = max(0, r+w-n); p.Strong = p.Overlap > 0; p.WritesOverlap = 2*w > n }; return p, nil.",
	},
	Reference: solution.Classify,
	Probe:     func(f ClassifyFunc) { _, _ = f(3, 2, 2, false) },
	Checks: []exercise.Check[ClassifyFunc]{
		{Name: "R + W > N is strong, R + W = N is not", Hint: 2, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range []struct {
				n, r, w int
				strong  bool
			}{{3, 2, 2, true}, {3, 1, 2, false}, {3, 2, 1, false}, {3, 1, 3, true}, {3, 1, 1, false}, {5, 3, 3, true}, {5, 2, 3, false}, {1, 1, 1, true}} {
				p, err := f(c.n, c.r, c.w, false)
				require.NoErrorf(t, err, "Classify(%d, %d, %d, false)", c.n, c.r, c.w)
				require.Equalf(t, c.strong, p.Strong, "Classify(%d, %d, %d, false).Strong", c.n, c.r, c.w)
			}
		}},
		{Name: "a sloppy quorum is never strong, whatever R and W", Hint: 2, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range [][3]int{{3, 2, 2}, {3, 3, 3}, {5, 3, 3}} {
				p, err := f(c[0], c[1], c[2], true)
				require.NoErrorf(t, err, "Classify(%d, %d, %d, true)", c[0], c[1], c[2])
				require.Falsef(t, p.Strong, "Classify(%d, %d, %d, true).Strong", c[0], c[1], c[2])
				require.Zerof(t, p.Overlap, "Classify(%d, %d, %d, true).Overlap", c[0], c[1], c[2])
				require.Falsef(t, p.WritesOverlap, "Classify(%d, %d, %d, true).WritesOverlap", c[0], c[1], c[2])
			}
		}},
		{Name: "the overlap is R + W - N, never below 0", Hint: 2, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range [][4]int{{3, 2, 2, 1}, {3, 3, 3, 3}, {5, 4, 4, 3}, {5, 1, 1, 0}, {7, 2, 3, 0}} {
				p, err := f(c[0], c[1], c[2], false)
				require.NoErrorf(t, err, "Classify(%d, %d, %d, false)", c[0], c[1], c[2])
				require.Equalf(t, c[3], p.Overlap, "Classify(%d, %d, %d, false).Overlap", c[0], c[1], c[2])
			}
		}},
		{Name: "reads survive N - R replicas down, writes N - W", Hint: 1, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range [][5]int{{3, 2, 2, 1, 1}, {3, 1, 3, 2, 0}, {5, 3, 2, 2, 3}, {1, 1, 1, 0, 0}} {
				for _, sloppy := range []bool{false, true} {
					p, err := f(c[0], c[1], c[2], sloppy)
					require.NoErrorf(t, err, "Classify(%d, %d, %d, %v)", c[0], c[1], c[2], sloppy)
					require.Equalf(t, c[3], p.ReadsSurvive, "Classify(%d, %d, %d, %v).ReadsSurvive", c[0], c[1], c[2], sloppy)
					require.Equalf(t, c[4], p.WritesSurvive, "Classify(%d, %d, %d, %v).WritesSurvive", c[0], c[1], c[2], sloppy)
				}
			}
		}},
		{Name: "two write quorums meet exactly when 2W > N", Hint: 2, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range []struct {
				n, w int
				meet bool
			}{{4, 2, false}, {4, 3, true}, {3, 2, true}, {5, 2, false}, {5, 3, true}, {2, 1, false}} {
				p, err := f(c.n, 1, c.w, false)
				require.NoErrorf(t, err, "Classify(%d, 1, %d, false)", c.n, c.w)
				require.Equalf(t, c.meet, p.WritesOverlap, "Classify(%d, 1, %d, false).WritesOverlap", c.n, c.w)
			}
		}},
		{Name: "bad input is an error: N below 1, R or W outside 1..N", Hint: 1, Run: func(t exercise.T, f ClassifyFunc) {
			for _, c := range [][3]int{{0, 1, 1}, {-3, 1, 1}, {3, 0, 2}, {3, 4, 2}, {3, 2, 0}, {3, 2, 4}, {3, -1, -1}} {
				p, err := f(c[0], c[1], c[2], false)
				require.Errorf(t, err, "Classify(%d, %d, %d, false) returned %+v and no error", c[0], c[1], c[2], p)
			}
		}},
		{Name: "it agrees with counting quorum intersections by brute force, N up to 6", Hint: 3, Run: func(t exercise.T, f ClassifyFunc) {
			for n := 1; n <= 6; n++ {
				for r := 1; r <= n; r++ {
					for w := 1; w <= n; w++ {
						want := bruteForce(n, r, w)
						got, err := f(n, r, w, false)
						require.NoErrorf(t, err, "Classify(%d, %d, %d, false)", n, r, w)
						require.Equalf(t, want, got, "Classify(%d, %d, %d, false)", n, r, w)
					}
				}
			}
		}},
	},
})

// bruteForce classifies a strict configuration by enumerating every read
// and write quorum as a bit set: independent of the formulas it checks.
func bruteForce(n, r, w int) replica.Profile {
	var reads, writes []uint
	for s := uint(0); s < 1<<n; s++ {
		if ones(s) == r {
			reads = append(reads, s)
		}
		if ones(s) == w {
			writes = append(writes, s)
		}
	}
	overlap := n
	for _, a := range reads {
		for _, b := range writes {
			overlap = min(overlap, ones(a&b))
		}
	}
	ww := true
	for _, a := range writes {
		for _, b := range writes {
			if a&b == 0 {
				ww = false
			}
		}
	}
	return replica.Profile{Strong: overlap > 0, Overlap: overlap, ReadsSurvive: n - r, WritesSurvive: n - w, WritesOverlap: ww}
}

func ones(s uint) int {
	n := 0
	for ; s != 0; s &= s - 1 {
		n++
	}
	return n
}

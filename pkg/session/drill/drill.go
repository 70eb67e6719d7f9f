// Package drill defines the exercises of notebooks/02-read-your-writes: the
// write-token router (session/route-read) and the read-your-writes checker
// (session/check-ryw), with their checks, hints and references.
package drill

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/session"
	sol "github.com/dsgym/dsgym/solutions/session"
)

// Notebook is the chapter's notebook.
const Notebook = "02-read-your-writes.ipynb"

// Reference holds the reference implementations, for experiments that run
// before the learner has written anything (the claims of the notebook).
var Reference = session.Impl{Route: sol.RouteRead, CheckRYW: sol.CheckReadYourWrites}

// Pick returns the learner's implementations where they are written and
// the references where they are still stubs, with a note for each.
func Pick(route session.RouteFunc, ryw session.Checker) session.Impl {
	return session.Impl{Route: RouteRead.Pick(route), CheckRYW: CheckReadYourWrites.Pick(ryw)}
}

const ms = time.Millisecond

// view builds a replica view from compact rows, for readable checks.
type row struct {
	name              string
	primary, up       bool
	received, applied uint64
	rtt               time.Duration
}

func view(rows ...row) []session.ReplicaView {
	out := make([]session.ReplicaView, len(rows))
	for i, r := range rows {
		out[i] = session.ReplicaView{Name: r.name, Primary: r.primary, Up: r.up, Received: r.received, Applied: r.applied, RTT: r.rtt}
	}
	return out
}

// showView writes a view the way failure messages quote it.
func showView(v []session.ReplicaView) string {
	parts := make([]string, len(v))
	for i, r := range v {
		state := "up"
		if !r.Up {
			state = "down"
		}
		p := ""
		if r.Primary {
			p = " primary"
		}
		parts[i] = fmt.Sprintf("%d:%s%s %s applied=%d received=%d rtt=%v", i, r.Name, p, state, r.Applied, r.Received, r.RTT)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func showRoute(r session.Route) string {
	if r.Wait > 0 {
		return fmt.Sprintf("replica %d, wait %v", r.Replica, r.Wait)
	}
	return fmt.Sprintf("replica %d at once", r.Replica)
}

// wantRoute asserts that f routes to want.
func wantRoute(t exercise.T, f session.RouteFunc, token uint64, v []session.ReplicaView, budget time.Duration, want session.Route) {
	t.Helper()
	call := fmt.Sprintf("RouteRead(token %d, %s, budget %v)", token, showView(v), budget)
	got, err := f(token, v, budget)
	require.NoErrorf(t, err, "%s", call)
	if got != want {
		t.Errorf("%s: got %s, want %s", call, showRoute(got), showRoute(want))
		t.FailNow()
	}
}

// RouteRead is the first exercise: route a read that carries a write token.
var RouteRead = exercise.Register(&exercise.Exercise[session.RouteFunc]{
	ID:       "session/route-read",
	Title:    "Route a read that carries a write token",
	Task:     "send the read to the nearest up replica that has applied the token; else wait at the nearest up replica for the budget; else the primary; else ErrNoReplica",
	Func:     "RouteRead",
	Notebook: Notebook,
	Hints: [3]string{
		"Which replicas could answer this read correctly right now? Only those whose reads already show the session's latest write. Which of the two positions a replica reports says that?",
		"Applied is what reads see; Received is only on the replica's disk. Qualifying = Up and Applied >= token (>=: the write at exactly the token counts). Among those, the smallest RTT wins, the lowest index on ties. When none qualifies: with budget left, ask the nearest up replica to hold the read for exactly the budget; with none left, the primary has every acknowledged write whatever its reported position; and with the primary down, return an error wrapping session.ErrNoReplica.",
		"Return an error for budget < 0 first. One pass over replicas, skipping !r.Up, keeps three indexes: best (Applied >= token, smallest RTT, strict < so ties keep the first), nearest (any up replica, smallest RTT) and primary (r.Primary). Then: best >= 0 -> Route{Replica: best}; budget > 0 && nearest >= 0 -> Route{Replica: nearest, Wait: budget}; primary >= 0 -> Route{Replica: primary}; else fmt.Errorf(\"...: %w\", session.ErrNoReplica). Do not sort the slice: the index you return must point into the caller's view.",
	},
	Reference: sol.RouteRead,
	Probe: func(f session.RouteFunc) {
		_, _ = f(1, view(row{"p", true, true, 1, 1, ms}), 0)
	},
	Checks: []exercise.Check[session.RouteFunc]{
		{Name: "a replica that has applied the token serves the read at once", Hint: 1, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 9, 9, 76 * ms}, row{"eu-west-1", false, true, 7, 7, ms})
			wantRoute(t, f, 7, v, 150*ms, session.Route{Replica: 1})
		}},
		{Name: "a replica that has only received the token does not qualify (Applied counts, not Received)", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 9, 9, 76 * ms}, row{"eu-west-1", false, true, 9, 6, ms}, row{"eu-west-2", false, true, 9, 8, 2 * ms})
			wantRoute(t, f, 8, v, 150*ms, session.Route{Replica: 2})
			wantRoute(t, f, 9, v[:2], 0, session.Route{Replica: 0})
		}},
		{Name: "a replica that has applied exactly the token qualifies", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 12, 12, 76 * ms}, row{"eu-west-1", false, true, 12, 12, ms})
			wantRoute(t, f, 12, v, 150*ms, session.Route{Replica: 1})
		}},
		{Name: "the nearest qualifying replica wins, ties going to the lowest index", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 30, 30, 76 * ms}, row{"ap-southeast-1", false, true, 30, 30, 170 * ms},
				row{"eu-west-1", false, true, 30, 29, ms}, row{"eu-west-2", false, true, 30, 30, 2 * ms}, row{"eu-west-3", false, true, 30, 30, 2 * ms})
			wantRoute(t, f, 30, v, 150*ms, session.Route{Replica: 3})
			wantRoute(t, f, 20, v, 150*ms, session.Route{Replica: 2})
		}},
		{Name: "a replica believed down is never chosen", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 5, 5, 76 * ms}, row{"eu-west-1", false, false, 5, 5, ms}, row{"eu-west-2", false, true, 5, 4, 2 * ms})
			wantRoute(t, f, 5, v, 0, session.Route{Replica: 0})
			wantRoute(t, f, 5, v, 100*ms, session.Route{Replica: 0})
			wantRoute(t, f, 5, v[1:], 100*ms, session.Route{Replica: 1, Wait: 100 * ms})
		}},
		{Name: "when no replica has applied the token, the read waits at the nearest up replica for exactly the budget", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 3, 3, 76 * ms}, row{"eu-west-1", false, true, 4, 3, 2 * ms}, row{"eu-west-2", false, true, 3, 3, ms})
			wantRoute(t, f, 4, v, 150*ms, session.Route{Replica: 2, Wait: 150 * ms})
			wantRoute(t, f, 4, v, 40*ms, session.Route{Replica: 2, Wait: 40 * ms})
		}},
		{Name: "with no budget left the read goes to the primary, whatever position it last reported", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"eu-west-1", false, true, 40, 38, ms}, row{"us-east-1", true, true, 39, 39, 76 * ms})
			wantRoute(t, f, 41, v, 0, session.Route{Replica: 1})
		}},
		{Name: "with the primary down and no replica up to date, the answer is ErrNoReplica, not a panic", Hint: 2, Run: func(t exercise.T, f session.RouteFunc) {
			for _, c := range []struct {
				v      []session.ReplicaView
				budget time.Duration
			}{
				{view(row{"us-east-1", true, false, 9, 9, 76 * ms}, row{"eu-west-1", false, true, 9, 8, ms}), 0},
				{view(row{"us-east-1", true, false, 9, 9, 76 * ms}, row{"eu-west-1", false, false, 9, 9, ms}), 150 * ms},
				{nil, 150 * ms},
				{[]session.ReplicaView{}, 0},
			} {
				got, err := f(9, c.v, c.budget)
				require.Truef(t, errors.Is(err, session.ErrNoReplica), "RouteRead(token 9, %s, budget %v) = %s, error %v; want an error wrapping session.ErrNoReplica", showView(c.v), c.budget, showRoute(got), err)
			}
		}},
		{Name: "a negative budget is an error, and the caller's view is left as it was", Hint: 3, Run: func(t exercise.T, f session.RouteFunc) {
			v := view(row{"us-east-1", true, true, 9, 9, 76 * ms}, row{"eu-west-1", false, true, 9, 9, 2 * ms}, row{"eu-west-2", false, true, 9, 9, ms})
			before := slices.Clone(v)
			_, err := f(9, v, -time.Millisecond)
			require.Errorf(t, err, "RouteRead(token 9, %s, budget -1ms) returned no error", showView(before))
			_, _ = f(9, v, 150*ms)
			_, _ = f(10, v, 0)
			require.Equalf(t, showView(before), showView(v), "the view after RouteRead")
		}},
		{Name: "routes match the specification on 500 random views", Hint: 3, Run: func(t exercise.T, f session.RouteFunc) {
			rng := newRand(7)
			regions := []string{"us-east-1", "us-east-2", "eu-west-1", "eu-west-2", "ap-southeast-1", "sa-east-1"}
			rtts := []time.Duration{ms, ms, 76 * ms, 76 * ms, 220 * ms, 120 * ms}
			for trial := 0; trial < 500; trial++ {
				n := int(rng() % 7)       // 0..6 replicas
				primary := int(rng() % 7) // 6: no primary in the view
				v := make([]session.ReplicaView, n)
				for i := range v {
					applied := rng() % 20
					v[i] = session.ReplicaView{Name: regions[i], Primary: i == primary, Up: rng()%5 != 0,
						Applied: applied, Received: applied + rng()%4, RTT: rtts[(i+int(rng()%3))%6]}
				}
				token := rng() % 22
				budget := time.Duration(rng()%3) * 75 * ms
				want, wantErr := sol.RouteRead(token, slices.Clone(v), budget)
				got, err := f(token, slices.Clone(v), budget)
				call := fmt.Sprintf("RouteRead(token %d, %s, budget %v)", token, showView(v), budget)
				if wantErr != nil {
					require.Errorf(t, err, "%s = %s; want ErrNoReplica", call, showRoute(got))
					continue
				}
				require.NoErrorf(t, err, "%s", call)
				if got != want {
					t.Errorf("%s: got %s, want %s", call, showRoute(got), showRoute(want))
					t.FailNow()
				}
			}
		}},
	},
})

// CheckReadYourWrites is the second exercise: the read-your-writes checker.
var CheckReadYourWrites = exercise.Register(&exercise.Exercise[session.Checker]{
	ID:       "session/check-ryw",
	Title:    "A read-your-writes checker",
	Task:     "return every successful read that saw an older version of a key than its own session's latest acknowledged write to it, in history order",
	Func:     "CheckReadYourWrites",
	Notebook: Notebook,
	Hints: [3]string{
		"Walk the history once, in order. What must you remember about each session so that, at each of its reads, you know the oldest version it may still see?",
		"Read-your-writes is per session and per key: remember, for each (session, key), the highest version of an acknowledged write and where it is in the history. A read of that key by that session with a lower version is a violation. Other sessions' writes do not count, failed operations do not count, and which replica served the operation does not matter: after a failover the session is still the same session.",
		"latest := map[struct{ s int; k string }]struct{ v uint64; op int }{}; for i, o := range h { if !o.OK() { continue }; key := ...{o.Session, o.Key}; if o.Kind == session.Write { keep the higher version and its index i } else if w, ok := latest[key]; ok && o.Version < w.v { out = append(out, session.Violation{Guarantee: session.ReadYourWrites, Session: o.Session, Key: o.Key, Op: i, Cause: w.op, Want: w.v, Got: o.Version}) } }.",
	},
	Reference: sol.CheckReadYourWrites,
	Probe: func(f session.Checker) {
		_ = f(session.History{{Session: 1, Kind: session.Write, Key: "k", Version: 1}})
	},
	Checks: []exercise.Check[session.Checker]{
		{Name: "a read that misses its session's own write is flagged, with the write and both versions", Hint: 1, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(1, "k", 5, "eu-west-1"), r(1, "k", 3, "eu-west-1")}
			wantViolations(t, f, h, v(1, "k", 1, 0, 5, 3))
		}},
		{Name: "a read that sees the write, or a newer one, is fine", Hint: 1, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(1, "k", 5, "us-east-1"), r(1, "k", 5, "eu-west-1"), r(1, "k", 9, "eu-west-2"), r(2, "k", 2, "eu-west-1")}
			wantViolations(t, f, h)
		}},
		{Name: "other sessions' writes do not bind a session", Hint: 2, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(1, "k", 4, "us-east-1"), w(2, "k", 7, "us-east-1"), r(1, "k", 4, "eu-west-1"), r(3, "k", 0, "eu-west-1")}
			wantViolations(t, f, h)
		}},
		{Name: "a write to one key does not bind reads of another", Hint: 2, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(1, "a", 3, "us-east-1"), w(1, "b", 8, "us-east-1"), r(1, "a", 3, "eu-west-1"), r(1, "c", 0, "eu-west-1")}
			wantViolations(t, f, h)
		}},
		{Name: "failed writes do not bind, and failed reads are not judged", Hint: 2, Run: func(t exercise.T, f session.Checker) {
			fw := w(1, "k", 0, "us-east-1")
			fw.Err = "timeout after 2s"
			fr := r(1, "k", 0, "eu-west-1")
			fr.Err = "connection refused"
			h := session.History{w(1, "k", 2, "us-east-1"), fw, r(1, "k", 2, "eu-west-1"), w(1, "k", 6, "us-east-1"), fr}
			wantViolations(t, f, h)
		}},
		{Name: "a read after a failover to another replica is judged like any other", Hint: 2, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(4, "cart", 10, "eu-west-1"), r(4, "cart", 10, "eu-west-1"), r(4, "cart", 8, "eu-west-2"), r(4, "cart", 10, "eu-west-2")}
			wantViolations(t, f, h, v(4, "cart", 2, 0, 10, 8))
		}},
		{Name: "the violation names the session's latest write to the key, not its first", Hint: 2, Run: func(t exercise.T, f session.Checker) {
			h := session.History{w(1, "k", 3, "us-east-1"), w(2, "k", 5, "us-east-1"), w(1, "k", 6, "us-east-1"), r(1, "k", 4, "eu-west-1"), r(1, "k", 5, "eu-west-1")}
			wantViolations(t, f, h, v(1, "k", 3, 2, 6, 4), v(1, "k", 4, 2, 6, 5))
		}},
		{Name: "every violation is reported, in history order, sessions interleaved", Hint: 3, Run: func(t exercise.T, f session.Checker) {
			h := session.History{
				w(1, "a", 1, "us-east-1"), w(2, "a", 2, "us-east-1"), r(2, "a", 1, "eu-west-1"), r(1, "a", 0, "eu-west-2"),
				r(1, "a", 0, "eu-west-2"), w(2, "b", 3, "us-east-1"), r(2, "b", 0, "eu-west-1"), r(1, "a", 2, "eu-west-1"),
			}
			wantViolations(t, f, h, v(2, "a", 2, 1, 2, 1), v(1, "a", 3, 0, 1, 0), v(1, "a", 4, 0, 1, 0), v(2, "b", 6, 5, 3, 0))
		}},
		{Name: "no history, no violations; the caller's history is left as it was", Hint: 1, Run: func(t exercise.T, f session.Checker) {
			require.Emptyf(t, f(nil), "CheckReadYourWrites(empty history)")
			h := session.History{w(2, "k", 5, "us-east-1"), w(1, "k", 2, "us-east-1"), r(1, "k", 1, "eu-west-1")}
			before := slices.Clone(h)
			_ = f(h)
			require.Equalf(t, showHistory(before), showHistory(h), "the history after CheckReadYourWrites")
		}},
		{Name: "on a simulated run with replication lag it finds exactly the violations there are", Hint: 3, Run: func(t exercise.T, f session.Checker) {
			cfg := session.Default()
			cfg.Ops, cfg.Lag = 1500, 300*ms
			cfg.Crashes = []session.Crash{{Replica: 2, At: 2 * time.Second, For: 2 * time.Second}}
			res, err := session.Simulate(cfg, nil)
			require.NoErrorf(t, err, "simulating the check's run")
			want := sol.CheckReadYourWrites(res.History)
			got := f(slices.Clone(res.History))
			if len(got) != len(want) {
				t.Errorf("CheckReadYourWrites(a %d-op run, seed %d, lag 300ms, eu-west-1 down 2s-4s) found %d violations, want %d (first missed or extra: %s)",
					len(res.History), cfg.Seed, len(got), len(want), firstDiff(got, want, res.History))
				t.FailNow()
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("CheckReadYourWrites(a %d-op run, seed %d): violation %d is %v, want %v", len(res.History), cfg.Seed, i, got[i], want[i])
					t.FailNow()
				}
			}
		}},
	},
})

func w(s int, key string, version uint64, replica string) session.Op {
	return session.Op{Session: s, Kind: session.Write, Key: key, Version: version, Replica: replica}
}

func r(s int, key string, version uint64, replica string) session.Op {
	return session.Op{Session: s, Kind: session.Read, Key: key, Version: version, Replica: replica}
}

func v(s int, key string, op, cause int, want, got uint64) session.Violation {
	return session.Violation{Guarantee: session.ReadYourWrites, Session: s, Key: key, Op: op, Cause: cause, Want: want, Got: got}
}

// showHistory writes a history the way failure messages quote it.
func showHistory(h session.History) string {
	parts := make([]string, len(h))
	for i, o := range h {
		s := fmt.Sprintf("%d:s%d %s %s v%d@%s", i, o.Session, o.Kind, o.Key, o.Version, o.Replica)
		if !o.OK() {
			s = fmt.Sprintf("%d:s%d %s %s failed@%s", i, o.Session, o.Kind, o.Key, o.Replica)
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

func showViolations(vs []session.Violation) string {
	if len(vs) == 0 {
		return "none"
	}
	parts := make([]string, len(vs))
	for i, x := range vs {
		g := ""
		if x.Guarantee != session.ReadYourWrites {
			g = fmt.Sprintf(" (guarantee %q)", x.Guarantee)
		}
		parts[i] = fmt.Sprintf("op %d (s%d %s: got v%d, want >= v%d from op %d)%s", x.Op, x.Session, x.Key, x.Got, x.Want, x.Cause, g)
	}
	return strings.Join(parts, ", ")
}

func wantViolations(t exercise.T, f session.Checker, h session.History, want ...session.Violation) {
	t.Helper()
	got := f(slices.Clone(h))
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("CheckReadYourWrites(%s): got %s, want %s", showHistory(h), showViolations(got), showViolations(want))
		t.FailNow()
	}
}

func firstDiff(got, want []session.Violation, h session.History) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missed op %d: %s", want[i].Op, h[want[i].Op])
		case i >= len(want):
			return fmt.Sprintf("extra op %d: %s", got[i].Op, h[got[i].Op])
		case got[i].Op != want[i].Op:
			if got[i].Op < want[i].Op {
				return fmt.Sprintf("extra op %d: %s", got[i].Op, h[got[i].Op])
			}
			return fmt.Sprintf("missed op %d: %s", want[i].Op, h[want[i].Op])
		}
	}
	return "none"
}

// newRand is a tiny seeded generator (splitmix64), so the checks are the
// same on every run without touching any global random source.
func newRand(seed uint64) func() uint64 {
	return func() uint64 {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
}

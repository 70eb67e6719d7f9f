package drill

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/session"
	sol "github.com/dsgym/dsgym/solutions/session"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	RouteRead.Passes(t, sol.RouteRead)
	CheckReadYourWrites.Passes(t, sol.CheckReadYourWrites)
}

// route is a configurable router for known-bad variants of the reference.
type route struct {
	qualifies    func(r session.ReplicaView, token uint64) bool
	ignoreRTT    bool
	ignoreUp     bool
	wait         func(budget time.Duration) time.Duration
	primaryFirst bool // treats a lagging primary like any replica
	sortInPlace  bool
}

func (b route) fn(token uint64, v []session.ReplicaView, budget time.Duration) (session.Route, error) {
	if budget < 0 {
		return session.Route{}, errors.New("negative budget")
	}
	if b.sortInPlace {
		slices.SortStableFunc(v, func(a, c session.ReplicaView) int { return int(a.RTT - c.RTT) })
	}
	qual := b.qualifies
	if qual == nil {
		qual = func(r session.ReplicaView, token uint64) bool { return r.Applied >= token }
	}
	best, nearest, primary := -1, -1, -1
	for i, r := range v {
		if !r.Up && !b.ignoreUp {
			continue
		}
		if r.Primary && primary < 0 {
			primary = i
		}
		if nearest < 0 || r.RTT < v[nearest].RTT {
			nearest = i
		}
		if qual(r, token) && (best < 0 || (!b.ignoreRTT && r.RTT < v[best].RTT)) {
			best = i
		}
	}
	wait := budget
	if b.wait != nil {
		wait = b.wait(budget)
	}
	switch {
	case best >= 0:
		return session.Route{Replica: best}, nil
	case wait > 0 && nearest >= 0:
		return session.Route{Replica: nearest, Wait: wait}, nil
	case primary >= 0 && !b.primaryFirst:
		return session.Route{Replica: primary}, nil
	}
	return session.Route{}, fmt.Errorf("%w", session.ErrNoReplica)
}

func TestRouteChecksCatchKnownBadRouters(t *testing.T) {
	alwaysPrimary := func(token uint64, v []session.ReplicaView, budget time.Duration) (session.Route, error) {
		for i, r := range v {
			if r.Primary && r.Up {
				return session.Route{Replica: i}, nil
			}
		}
		return session.Route{}, session.ErrNoReplica
	}
	panicsOnEmpty := func(token uint64, v []session.ReplicaView, budget time.Duration) (session.Route, error) {
		_ = v[0].Name // index out of range on an empty view
		return sol.RouteRead(token, v, budget)
	}
	tests := []struct {
		name   string
		bad    session.RouteFunc
		checks []string
	}{
		{"comparing the token with Received (the wrong version)", route{qualifies: func(r session.ReplicaView, tok uint64) bool { return r.Received >= tok }}.fn,
			[]string{"a replica that has only received the token does not qualify (Applied counts, not Received)", "routes match the specification on 500 random views"}},
		{"requiring Applied > token (off by one)", route{qualifies: func(r session.ReplicaView, tok uint64) bool { return r.Applied > tok }}.fn,
			[]string{"a replica that has applied exactly the token qualifies", "routes match the specification on 500 random views"}},
		{"ignoring the token", route{qualifies: func(session.ReplicaView, uint64) bool { return true }}.fn,
			[]string{"when no replica has applied the token, the read waits at the nearest up replica for exactly the budget", "routes match the specification on 500 random views"}},
		{"taking the first qualifying replica, not the nearest", route{ignoreRTT: true}.fn,
			[]string{"a replica that has applied the token serves the read at once", "the nearest qualifying replica wins, ties going to the lowest index"}},
		{"choosing replicas believed down", route{ignoreUp: true}.fn,
			[]string{"a replica believed down is never chosen"}},
		{"waiting without a bound", route{wait: func(time.Duration) time.Duration { return time.Hour }}.fn,
			[]string{"when no replica has applied the token, the read waits at the nearest up replica for exactly the budget"}},
		{"never waiting", route{wait: func(time.Duration) time.Duration { return 0 }}.fn,
			[]string{"when no replica has applied the token, the read waits at the nearest up replica for exactly the budget"}},
		{"giving up when the primary's reported position lags", route{primaryFirst: true}.fn,
			[]string{"with no budget left the read goes to the primary, whatever position it last reported"}},
		{"sending everything to the primary", alwaysPrimary,
			[]string{"a replica that has applied the token serves the read at once", "routes match the specification on 500 random views"}},
		{"panicking on an empty view", panicsOnEmpty,
			[]string{"with the primary down and no replica up to date, the answer is ErrNoReplica, not a panic"}},
		{"sorting the caller's view by RTT", route{sortInPlace: true}.fn,
			[]string{"a negative budget is an error, and the caller's view is left as it was"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			RouteRead.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

// checker is a configurable RYW checker for known-bad variants.
type checker struct {
	perReplica   bool // forgets the session's writes when it changes replica
	anySession   bool // any session's writes bind every reader
	anyKey       bool // a session's writes to any key bind its reads of every key
	countFailed  bool // failed operations count
	firstWrite   bool // remembers the first write, not the latest
	oncePerKey   bool // reports a (session, key) once
	sortsHistory bool
}

func (b checker) fn(h session.History) []session.Violation {
	if b.sortsHistory {
		slices.SortStableFunc(h, func(x, y session.Op) int { return x.Session - y.Session })
	}
	type key struct {
		s       int
		k       string
		replica string
	}
	type write struct {
		v  uint64
		op int
	}
	latest := map[key]write{}
	reported := map[key]bool{}
	var out []session.Violation
	for i, o := range h {
		if !o.OK() && !b.countFailed {
			continue
		}
		k := key{o.Session, o.Key, ""}
		if b.perReplica {
			k.replica = o.Replica
		}
		if b.anySession {
			k.s = 0
		}
		if b.anyKey {
			k.k = ""
		}
		switch o.Kind {
		case session.Write:
			if cur, ok := latest[k]; !ok || (o.Version > cur.v && !b.firstWrite) {
				latest[k] = write{o.Version, i}
			}
		case session.Read:
			if wr, ok := latest[k]; ok && o.Version < wr.v && !reported[k] {
				out = append(out, session.Violation{Guarantee: session.ReadYourWrites, Session: o.Session, Key: o.Key, Op: i, Cause: wr.op, Want: wr.v, Got: o.Version})
				if b.oncePerKey {
					reported[k] = true
				}
			}
		}
	}
	return out
}

func TestRYWChecksCatchKnownBadCheckers(t *testing.T) {
	mislabels := func(h session.History) []session.Violation {
		vs := sol.CheckReadYourWrites(h)
		for i := range vs {
			vs[i].Guarantee = session.MonotonicReads
		}
		return vs
	}
	tests := []struct {
		name   string
		bad    session.Checker
		checks []string
	}{
		{"tracking writes per replica, which misses a violation across a failover", checker{perReplica: true}.fn,
			[]string{"a read after a failover to another replica is judged like any other", "on a simulated run with replication lag it finds exactly the violations there are"}},
		{"binding sessions to other sessions' writes", checker{anySession: true}.fn,
			[]string{"other sessions' writes do not bind a session", "on a simulated run with replication lag it finds exactly the violations there are"}},
		{"ignoring which key was written", checker{anyKey: true}.fn,
			[]string{"a write to one key does not bind reads of another", "on a simulated run with replication lag it finds exactly the violations there are"}},
		{"counting failed operations", checker{countFailed: true}.fn,
			[]string{"failed writes do not bind, and failed reads are not judged"}},
		{"remembering the first write instead of the latest", checker{firstWrite: true}.fn,
			[]string{"the violation names the session's latest write to the key, not its first"}},
		{"reporting each session and key once", checker{oncePerKey: true}.fn,
			[]string{"every violation is reported, in history order, sessions interleaved", "on a simulated run with replication lag it finds exactly the violations there are"}},
		{"sorting the caller's history", checker{sortsHistory: true}.fn,
			[]string{"no history, no violations; the caller's history is left as it was"}},
		{"labelling violations with the wrong guarantee", mislabels,
			[]string{"a read that misses its session's own write is flagged, with the write and both versions"}},
		{"finding nothing", func(session.History) []session.Violation { return nil },
			[]string{"a read that misses its session's own write is flagged, with the write and both versions", "on a simulated run with replication lag it finds exactly the violations there are"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			CheckReadYourWrites.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

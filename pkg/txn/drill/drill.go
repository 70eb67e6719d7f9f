// Package drill defines the exercises of notebooks/05-2pc-vs-sagas: the
// decisions that make two-phase commit atomic across crashes (a
// participant's recovery, the coordinator's phase 2, cooperative
// termination) and the saga's compensation step. Each has direct checks of
// its rule and a check that runs many seeded crash schedules through the
// simulator with the learner's code in place and judges the runs with the
// invariant checkers.
package drill

import (
	"fmt"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

const notebook = "05-2pc-vs-sagas.ipynb"

// The exercises' function types.
type (
	// RecoverFunc is ParticipantRecovery's signature.
	RecoverFunc = twopc.RecoverFunc
	// Phase2Func is Phase2's signature.
	Phase2Func = twopc.Phase2Func
	// TerminateFunc is Terminate's signature.
	TerminateFunc = twopc.TerminateFunc
	// CompensateFunc is NextCompensation's signature.
	CompensateFunc = saga.CompensateFunc
)

// How many seeded schedules the simulation checks run.
const (
	participantSchedules = 300
	coordinatorSchedules = 320
	terminationSchedules = 300
	sagaSchedules        = 150
)

func kinds(ks ...twopc.Kind) []twopc.Kind { return ks }

// ParticipantRecovery is exercise txn/recover.
var ParticipantRecovery = exercise.Register(&exercise.Exercise[RecoverFunc]{
	ID:       "txn/recover",
	Title:    "A 2PC participant's recovery decision",
	Task:     "from the records a restarting participant logged for a transaction, decide: RecoverCommit, RecoverAbort or RecoverInDoubt",
	Func:     "ParticipantRecovery",
	Notebook: notebook,
	Hints: [3]string{
		"After a crash the participant remembers only its log. For each record it could have written last, ask: did it promise anything to the coordinator? Does it know the outcome?",
		"A decision in the log (COMMITTED, ABORTED, VOTED-NO) is final: redo it. PREPARED without a decision means it voted YES: the coordinator may have committed, so it must not decide alone; it stays in doubt with its locks. Nothing logged means it never voted YES: it promised nothing, so it may abort on its own (a unilateral abort).",
		"Scan the log and set three flags (prepared, committed, aborted, counting VotedNo as aborted); return an error for a kind outside these, and for committed && aborted. Then: committed → RecoverCommit, aborted → RecoverAbort, prepared → RecoverInDoubt, otherwise RecoverAbort.",
	},
	Reference: ref.ParticipantRecovery,
	Probe:     func(f RecoverFunc) { _, _ = f(nil) },
	Checks: []exercise.Check[RecoverFunc]{
		{Name: "with nothing logged, the participant aborts on its own (it never voted YES)", Hint: 2, Run: func(t exercise.T, f RecoverFunc) {
			for _, log := range [][]twopc.Kind{nil, {}} {
				got, err := f(log)
				wantRecovery(t, "ParticipantRecovery", log, got, err, twopc.RecoverAbort)
			}
		}},
		{Name: "a prepared participant without a decision stays in doubt", Hint: 2, Run: func(t exercise.T, f RecoverFunc) {
			log := kinds(twopc.Prepared)
			got, err := f(log)
			wantRecovery(t, "ParticipantRecovery", log, got, err, twopc.RecoverInDoubt)
		}},
		{Name: "a logged decision is redone", Hint: 2, Run: func(t exercise.T, f RecoverFunc) {
			for _, c := range []struct {
				log  []twopc.Kind
				want twopc.Recovery
			}{
				{kinds(twopc.Prepared, twopc.Committed), twopc.RecoverCommit},
				{kinds(twopc.Prepared, twopc.Aborted), twopc.RecoverAbort},
				{kinds(twopc.VotedNo), twopc.RecoverAbort},
				{kinds(twopc.Aborted), twopc.RecoverAbort},
				{kinds(twopc.Prepared, twopc.Prepared, twopc.Committed), twopc.RecoverCommit},
			} {
				got, err := f(c.log)
				if !wantRecovery(t, "ParticipantRecovery", c.log, got, err, c.want) {
					return
				}
			}
		}},
		{Name: "a log with an unknown record, or with both COMMIT and ABORT, is an error", Hint: 3, Run: func(t exercise.T, f RecoverFunc) {
			for _, log := range [][]twopc.Kind{
				kinds(twopc.Prepared, twopc.Committed, twopc.Aborted),
				kinds(twopc.Prepared, twopc.Kind(42)),
			} {
				if got, err := f(log); err == nil {
					t.Errorf("ParticipantRecovery(%v) = %v and no error; want an error", log, got)
					return
				}
			}
		}},
		{Name: fmt.Sprintf("over %d seeded crash schedules, every transaction stays atomic and nobody stays in doubt", participantSchedules), Hint: 2, Run: func(t exercise.T, f RecoverFunc) {
			rules := reference2PC()
			rules.Recover = f
			atomicUnder(t, "ParticipantRecovery", rules, Schedules2PC("participant", participantSchedules))
		}},
	},
})

func wantRecovery(t exercise.T, fn string, log []twopc.Kind, got twopc.Recovery, err error, want twopc.Recovery) bool {
	if err != nil {
		t.Errorf("%s(%v) returned the error %q; want %v", fn, log, err, want)
		return false
	}
	if got != want {
		t.Errorf("%s(%v) = %v, want %v", fn, log, got, want)
		return false
	}
	return true
}

var participants = []string{"order", "inventory", "billing"}

func votes(kv ...any) map[string]twopc.Vote {
	m := map[string]twopc.Vote{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(twopc.Vote)
	}
	return m
}

func formatVotes(v map[string]twopc.Vote) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := "{"
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += k + ":" + v[k].String()
	}
	return s + "}"
}

// decisionsTo returns what the effects send to each participant.
func decisionsTo(es []twopc.Effect) map[string][]twopc.Decision {
	out := map[string][]twopc.Decision{}
	for _, e := range es {
		if e.Kind == twopc.SendDecision {
			out[e.To] = append(out[e.To], e.Decision)
		}
	}
	return out
}

func phase2(t exercise.T, f Phase2Func, parts []string, v map[string]twopc.Vote) ([]twopc.Effect, string, bool) {
	call := fmt.Sprintf("Phase2(%v, %s)", parts, formatVotes(v))
	es, err := f(slices.Clone(parts), v)
	if err != nil {
		t.Errorf("%s returned the error %q; want effects", call, err)
		return nil, call, false
	}
	return es, call, true
}

// wantAbort checks that es abort and tell every participant in tell.
func wantAbort(t exercise.T, call string, es []twopc.Effect, tell []string) {
	for _, e := range es {
		if e.Decision == twopc.Commit {
			t.Errorf("%s = %s, which commits; want ABORT", call, twopc.Effects(es))
			return
		}
	}
	to := decisionsTo(es)
	for _, p := range tell {
		if len(to[p]) == 0 {
			t.Errorf("%s = %s, which never tells %s (it may be prepared and in doubt); want ABORT sent to %v", call, twopc.Effects(es), p, tell)
			return
		}
	}
}

// Phase2 is exercise txn/phase2.
var Phase2 = exercise.Register(&exercise.Exercise[Phase2Func]{
	ID:       "txn/phase2",
	Title:    "The 2PC coordinator's phase 2: log, then send",
	Task:     "from the participants and their votes, return the coordinator's effects in order: COMMIT logged before it is sent to anyone, or ABORT sent to everyone who may be prepared",
	Func:     "Phase2",
	Notebook: notebook,
	Hints: [3]string{
		"Two questions: what is the decision, and in what order must the effects happen so that a crash between any two of them leaves the system able to agree? A participant missing from votes did not answer.",
		"COMMIT only if every participant voted YES. A COMMIT must be durable in the coordinator's log before any participant hears it: a coordinator that recovers without the record presumes ABORT. ABORT needs no log record (presumed abort) and goes to every participant that did not vote NO.",
		"Validate (no participants, duplicates, votes from strangers → error). If all voted VoteYes: effects := []twopc.Effect{twopc.Log(twopc.Commit)}, then append twopc.Send(p, twopc.Commit) for each p. Otherwise append twopc.Send(p, twopc.Abort) for each p with votes[p] != twopc.VoteNo.",
	},
	Reference: ref.Phase2,
	Probe:     func(f Phase2Func) { _, _ = f([]string{"order"}, votes("order", twopc.VoteYes)) },
	Checks: []exercise.Check[Phase2Func]{
		{Name: "with every vote YES, everyone is told COMMIT exactly once and nothing aborts", Hint: 2, Run: func(t exercise.T, f Phase2Func) {
			v := votes("order", twopc.VoteYes, "inventory", twopc.VoteYes, "billing", twopc.VoteYes)
			es, call, ok := phase2(t, f, participants, v)
			if !ok {
				return
			}
			to := decisionsTo(es)
			for _, p := range participants {
				if len(to[p]) != 1 || to[p][0] != twopc.Commit {
					t.Errorf("%s = %s: %s is told %v; want exactly one COMMIT", call, twopc.Effects(es), p, to[p])
					return
				}
			}
			if len(to) != len(participants) {
				t.Errorf("%s = %s sends to a node that is not a participant", call, twopc.Effects(es))
			}
		}},
		{Name: "the COMMIT is logged before any participant hears it", Hint: 2, Run: func(t exercise.T, f Phase2Func) {
			v := votes("order", twopc.VoteYes, "inventory", twopc.VoteYes, "billing", twopc.VoteYes)
			es, call, ok := phase2(t, f, participants, v)
			if !ok {
				return
			}
			logAt := slices.IndexFunc(es, func(e twopc.Effect) bool { return e.Kind == twopc.LogDecision && e.Decision == twopc.Commit })
			sendAt := slices.IndexFunc(es, func(e twopc.Effect) bool { return e.Kind == twopc.SendDecision && e.Decision == twopc.Commit })
			switch {
			case logAt < 0:
				t.Errorf("%s = %s never logs COMMIT; want log COMMIT first", call, twopc.Effects(es))
			case sendAt >= 0 && sendAt < logAt:
				t.Errorf("%s = %s sends COMMIT before logging it; want log COMMIT before every send", call, twopc.Effects(es))
			}
		}},
		{Name: "a NO vote aborts, and everyone who voted YES is told", Hint: 2, Run: func(t exercise.T, f Phase2Func) {
			v := votes("order", twopc.VoteYes, "inventory", twopc.VoteNo, "billing", twopc.VoteYes)
			es, call, ok := phase2(t, f, participants, v)
			if ok {
				wantAbort(t, call, es, []string{"order", "billing"})
			}
		}},
		{Name: "a missing vote (a timeout) aborts, and everyone who may be prepared is told", Hint: 2, Run: func(t exercise.T, f Phase2Func) {
			v := votes("order", twopc.VoteYes, "inventory", twopc.VoteYes)
			es, call, ok := phase2(t, f, participants, v)
			if ok {
				wantAbort(t, call, es, participants)
			}
			v = votes()
			es, call, ok = phase2(t, f, participants[:1], v)
			if ok {
				wantAbort(t, call, es, participants[:1])
			}
		}},
		{Name: "no participants, a duplicate participant, or a vote from a stranger is an error", Hint: 3, Run: func(t exercise.T, f Phase2Func) {
			for _, c := range []struct {
				parts []string
				v     map[string]twopc.Vote
			}{
				{nil, votes()},
				{[]string{"order", "order"}, votes("order", twopc.VoteYes)},
				{[]string{"order"}, votes("order", twopc.VoteYes, "mallory", twopc.VoteYes)},
			} {
				if es, err := f(c.parts, c.v); err == nil {
					t.Errorf("Phase2(%v, %s) = %s and no error; want an error", c.parts, formatVotes(c.v), twopc.Effects(es))
					return
				}
			}
		}},
		{Name: fmt.Sprintf("over %d seeded schedules crashing the coordinator at every step, every transaction stays atomic", coordinatorSchedules), Hint: 2, Run: func(t exercise.T, f Phase2Func) {
			rules := reference2PC()
			rules.Phase2 = f
			atomicUnder(t, "Phase2", rules, Schedules2PC("coordinator", coordinatorSchedules))
		}},
	},
})

// Terminate is exercise txn/terminate.
var Terminate = exercise.Register(&exercise.Exercise[TerminateFunc]{
	ID:       "txn/terminate",
	Title:    "Cooperative termination: what the peers prove",
	Task:     "from the answers of its peers, decide what an in-doubt participant may adopt: Commit, Abort, or NoDecision (keep waiting)",
	Func:     "Terminate",
	Notebook: notebook,
	Hints: [3]string{
		"An in-doubt participant may adopt an outcome only if some peer's answer proves what the coordinator decided (or could still decide). Which answers prove something?",
		"A peer that committed proves the decision was COMMIT. A peer that aborted (voted NO, learned ABORT, or had not voted and aborted when asked) proves COMMIT is impossible. A peer that is prepared too, or did not answer, proves nothing: the coordinator may have logged COMMIT just before it crashed.",
		"Loop over answers: return twopc.Commit as soon as one is twopc.PeerCommitted; remember if one is twopc.PeerAborted and return twopc.Abort after the loop; otherwise return twopc.NoDecision.",
	},
	Reference: ref.Terminate,
	Probe:     func(f TerminateFunc) { _ = f(nil) },
	Checks: []exercise.Check[TerminateFunc]{
		{Name: "a peer that committed proves COMMIT", Hint: 2, Run: func(t exercise.T, f TerminateFunc) {
			for _, a := range [][]twopc.PeerState{{twopc.PeerCommitted}, {twopc.PeerPrepared, twopc.PeerCommitted}, {twopc.PeerUnknown, twopc.PeerCommitted}} {
				if got := f(slices.Clone(a)); got != twopc.Commit {
					t.Errorf("Terminate(%v) = %v, want COMMIT", a, got)
					return
				}
			}
		}},
		{Name: "a peer that aborted proves ABORT", Hint: 2, Run: func(t exercise.T, f TerminateFunc) {
			for _, a := range [][]twopc.PeerState{{twopc.PeerAborted}, {twopc.PeerPrepared, twopc.PeerAborted}, {twopc.PeerAborted, twopc.PeerUnknown}} {
				if got := f(slices.Clone(a)); got != twopc.Abort {
					t.Errorf("Terminate(%v) = %v, want ABORT", a, got)
					return
				}
			}
		}},
		{Name: "peers in doubt or silent prove nothing: keep waiting", Hint: 2, Run: func(t exercise.T, f TerminateFunc) {
			for _, a := range [][]twopc.PeerState{nil, {twopc.PeerPrepared, twopc.PeerPrepared}, {twopc.PeerUnknown, twopc.PeerUnknown}, {twopc.PeerPrepared, twopc.PeerUnknown}} {
				if got := f(slices.Clone(a)); got != twopc.NoDecision {
					t.Errorf("Terminate(%v) = %v, want NoDecision (keep waiting: the coordinator may have decided either way)", a, got)
					return
				}
			}
		}},
		{Name: "when one participant heard COMMIT before the coordinator died, the others stop waiting within a second", Hint: 1, Run: func(t exercise.T, f TerminateFunc) {
			rules := reference2PC()
			rules.Terminate = f
			cfg := twopc.Default(rules)
			cfg.Cooperative = true
			cfg.Crashes = []twopc.Crash{twopc.CoordinatorAfterFirstDecision(len(cfg.Participants), 20*time.Second)}
			r, err := twopc.Run(cfg)
			if err != nil {
				t.Errorf("the simulation could not start: %v", err)
				return
			}
			if v := r.Violations(); len(v) > 0 {
				t.Errorf("with your Terminate, a coordinator that dies after sending COMMIT to order: %s", v[0])
				return
			}
			if b := r.Blocked(); b > time.Second {
				t.Errorf("with your Terminate, a coordinator that dies for 20s after sending COMMIT to order leaves a peer blocked for %v; want under 1s (order can tell them)", b)
			}
		}},
		{Name: fmt.Sprintf("over %d seeded schedules with cooperative termination, every transaction stays atomic", terminationSchedules), Hint: 2, Run: func(t exercise.T, f TerminateFunc) {
			rules := reference2PC()
			rules.Terminate = f
			atomicUnder(t, "Terminate", rules, Schedules2PC("termination", terminationSchedules))
		}},
	},
})

func progress(id string, done, compensated []string, attempt int) saga.Progress {
	return saga.Progress{SagaID: id, Steps: []string{"order", "inventory", "billing"}, Done: done, Compensated: compensated, Attempt: attempt}
}

// NextCompensation is exercise txn/compensate.
var NextCompensation = exercise.Register(&exercise.Exercise[CompensateFunc]{
	ID:       "txn/compensate",
	Title:    "Saga compensation: reverse order, idempotent retries",
	Task:     "return the next compensation of a failed saga: the latest step that took effect and is not compensated yet, with an idempotency key that is the same on every retry; false when none is left",
	Func:     "NextCompensation",
	Notebook: notebook,
	Hints: [3]string{
		"Two separate questions: which step to undo next, and what key makes a retried request harmless. The orchestrator calls you again, with Attempt raised, when a request timed out: the first attempt may have worked and only its answer was lost.",
		"Undo in reverse order of Done (a refund refers to the charge, a cancelled order to its reservation), skipping steps in Compensated. The service remembers every key it has applied: a key names the saga, the step and that it is an undo, and never the attempt (a new key per attempt makes a second refund).",
		"Walk p.Done from the end; the first step not in p.Compensated (slices.Contains) is the answer, with Key: p.SagaID + \"/\" + step + \"/undo\". Return saga.Compensation{}, false when the loop finds none.",
	},
	Reference: ref.NextCompensation,
	Probe:     func(f CompensateFunc) { _, _ = f(progress("s1", []string{"order"}, nil, 0)) },
	Checks: []exercise.Check[CompensateFunc]{
		{Name: "the latest step that took effect is compensated first", Hint: 2, Run: func(t exercise.T, f CompensateFunc) {
			for _, c := range []struct {
				done []string
				want string
			}{{[]string{"order", "inventory"}, "inventory"}, {[]string{"order", "inventory", "billing"}, "billing"}, {[]string{"order"}, "order"}} {
				p := progress("s1", c.done, nil, 0)
				got, ok := f(p)
				if !ok || got.Step != c.want {
					t.Errorf("NextCompensation(Done %v, Compensated []) = %v, %v; want undo %s, true", c.done, got, ok, c.want)
					return
				}
			}
		}},
		{Name: "compensated steps are skipped, and nothing is left at the end", Hint: 2, Run: func(t exercise.T, f CompensateFunc) {
			done := []string{"order", "inventory", "billing"}
			for _, c := range []struct {
				comp []string
				want string
			}{{[]string{"billing"}, "inventory"}, {[]string{"billing", "inventory"}, "order"}, {[]string{"billing", "inventory", "order"}, ""}} {
				got, ok := f(progress("s1", done, c.comp, 0))
				switch {
				case c.want == "" && ok:
					t.Errorf("NextCompensation(Done %v, Compensated %v) = %v, true; want false (everything is compensated)", done, c.comp, got)
					return
				case c.want != "" && (!ok || got.Step != c.want):
					t.Errorf("NextCompensation(Done %v, Compensated %v) = %v, %v; want undo %s, true", done, c.comp, got, ok, c.want)
					return
				}
			}
			if got, ok := f(progress("s1", nil, nil, 0)); ok {
				t.Errorf("NextCompensation(Done [], Compensated []) = %v, true; want false (nothing took effect)", got)
			}
		}},
		{Name: "a retry carries the same idempotency key as the first attempt", Hint: 2, Run: func(t exercise.T, f CompensateFunc) {
			done := []string{"order", "inventory"}
			first, _ := f(progress("s7", done, nil, 0))
			for attempt := 1; attempt <= 3; attempt++ {
				again, _ := f(progress("s7", done, nil, attempt))
				if again.Key != first.Key || again.Step != first.Step {
					t.Errorf("NextCompensation(saga s7, Done %v, Attempt %d) = %v; the first attempt was %v; want the same request and key", done, attempt, again, first)
					return
				}
			}
		}},
		{Name: "keys are unique per saga, per step, and differ from the forward step's key", Hint: 2, Run: func(t exercise.T, f CompensateFunc) {
			a, _ := f(progress("s1", []string{"order", "inventory"}, nil, 0))
			b, _ := f(progress("s2", []string{"order", "inventory"}, nil, 0))
			c, _ := f(progress("s1", []string{"order", "inventory"}, []string{"inventory"}, 0))
			switch {
			case a.Key == "":
				t.Errorf("NextCompensation(saga s1, Done [order inventory]) = %v: the key is empty", a)
			case a.Key == b.Key:
				t.Errorf("sagas s1 and s2 both get key %q for undoing inventory; want different keys (the service would take s2's request for a retry of s1's)", a.Key)
			case a.Key == c.Key:
				t.Errorf("undoing inventory and order of saga s1 both use key %q; want one key per step", a.Key)
			case a.Key == saga.DoKey("s1", a.Step):
				t.Errorf("undoing %s of s1 uses key %q, the key of the step itself; the service would answer \"done already\" and never undo it", a.Step, a.Key)
			}
		}},
		{Name: fmt.Sprintf("over %d seeded runs with lost and duplicated messages, crashes and failing compensations, every saga ends compensated with one effect per step, in reverse order", sagaSchedules), Hint: 2, Run: func(t exercise.T, f CompensateFunc) {
			for _, s := range SchedulesSaga(sagaSchedules) {
				r, err := s.Run(f)
				if err != nil {
					t.Errorf("the simulation could not start (%s): %v", s, err)
					return
				}
				if v := r.Violations(); len(v) > 0 {
					t.Errorf("with your NextCompensation, simulated run %s: %s", s, v[0])
					return
				}
			}
		}},
	},
})

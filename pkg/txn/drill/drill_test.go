package drill

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("txn/recover", func(t *testing.T) { ParticipantRecovery.Passes(t, ref.ParticipantRecovery) })
	t.Run("txn/phase2", func(t *testing.T) { Phase2.Passes(t, ref.Phase2) })
	t.Run("txn/terminate", func(t *testing.T) { Terminate.Passes(t, ref.Terminate) })
	t.Run("txn/compensate", func(t *testing.T) { NextCompensation.Passes(t, ref.NextCompensation) })
}

// recoverWith returns the reference recovery with the answer for some
// logs replaced.
func recoverWith(override func(log []twopc.Kind) (twopc.Recovery, bool)) RecoverFunc {
	return func(log []twopc.Kind) (twopc.Recovery, error) {
		if r, ok := override(log); ok {
			return r, nil
		}
		return ref.ParticipantRecovery(log)
	}
}

func onlyPrepared(log []twopc.Kind) bool {
	return slices.Contains(log, twopc.Prepared) && !slices.Contains(log, twopc.Committed) && !slices.Contains(log, twopc.Aborted)
}

func TestRecoverChecksCatchKnownBadRecoveries(t *testing.T) {
	sim := ParticipantRecovery.Checks[len(ParticipantRecovery.Checks)-1].Name
	tests := []struct {
		name   string
		bad    RecoverFunc
		checks []string
	}{
		{"forgetting a prepared transaction on restart (aborting it)", recoverWith(func(log []twopc.Kind) (twopc.Recovery, bool) {
			return twopc.RecoverAbort, onlyPrepared(log)
		}), []string{"a prepared participant without a decision stays in doubt", sim}},
		{"committing a prepared transaction on restart", recoverWith(func(log []twopc.Kind) (twopc.Recovery, bool) {
			return twopc.RecoverCommit, onlyPrepared(log)
		}), []string{"a prepared participant without a decision stays in doubt", sim}},
		{"presuming commit when nothing is logged", recoverWith(func(log []twopc.Kind) (twopc.Recovery, bool) {
			return twopc.RecoverCommit, len(log) == 0
		}), []string{"with nothing logged, the participant aborts on its own (it never voted YES)"}},
		{"staying in doubt although the decision is logged", recoverWith(func(log []twopc.Kind) (twopc.Recovery, bool) {
			return twopc.RecoverInDoubt, slices.Contains(log, twopc.Prepared)
		}), []string{"a logged decision is redone"}},
		{"reading only the first record", func(log []twopc.Kind) (twopc.Recovery, error) {
			return ref.ParticipantRecovery(log[:min(1, len(log))])
		}, []string{"a logged decision is redone", "a log with an unknown record, or with both COMMIT and ABORT, is an error"}},
		{"never reporting a corrupt log", func(log []twopc.Kind) (twopc.Recovery, error) {
			if r, err := ref.ParticipantRecovery(log); err == nil {
				return r, nil
			}
			return twopc.RecoverAbort, nil
		}, []string{"a log with an unknown record, or with both COMMIT and ABORT, is an error"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { ParticipantRecovery.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestPhase2ChecksCatchKnownBadCoordinators(t *testing.T) {
	sim := Phase2.Checks[len(Phase2.Checks)-1].Name
	sendsBeforeLogging := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		es, err := ref.Phase2(parts, v)
		if err != nil || len(es) == 0 || es[0].Kind != twopc.LogDecision {
			return es, err
		}
		return append(es[1:], es[0]), nil // the sends first, the log record last
	}
	commitsOnMissingVote := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		filled := map[string]twopc.Vote{}
		for _, p := range parts {
			filled[p] = twopc.VoteYes
		}
		for p, x := range v {
			filled[p] = x
		}
		return ref.Phase2(parts, filled)
	}
	forgetsTheLast := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		es, err := ref.Phase2(parts, v)
		if err != nil || len(es) < 2 {
			return es, err
		}
		return es[:len(es)-1], nil
	}
	silentAbort := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		es, err := ref.Phase2(parts, v)
		if err == nil && len(es) > 0 && es[0].Decision == twopc.Abort {
			return nil, nil
		}
		return es, err
	}
	sendsTwice := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		es, err := ref.Phase2(parts, v)
		if err != nil {
			return es, err
		}
		return append(es, es[len(es)-1]), nil
	}
	noValidation := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		var es []twopc.Effect
		es = append(es, twopc.Log(twopc.Commit))
		for _, p := range parts {
			if v[p] != twopc.VoteYes {
				es = nil
				for _, q := range parts {
					es = append(es, twopc.Send(q, twopc.Abort))
				}
				return es, nil
			}
		}
		for _, p := range parts {
			es = append(es, twopc.Send(p, twopc.Commit))
		}
		return es, nil
	}
	tests := []struct {
		name   string
		bad    Phase2Func
		checks []string
	}{
		{"sending COMMIT before logging the decision", sendsBeforeLogging, []string{"the COMMIT is logged before any participant hears it", sim}},
		{"committing when a vote is missing", commitsOnMissingVote, []string{"a missing vote (a timeout) aborts, and everyone who may be prepared is told", sim}},
		{"forgetting to tell the last participant", forgetsTheLast, []string{"with every vote YES, everyone is told COMMIT exactly once and nothing aborts", "a NO vote aborts, and everyone who voted YES is told"}},
		{"aborting without telling anyone", silentAbort, []string{"a NO vote aborts, and everyone who voted YES is told", "a missing vote (a timeout) aborts, and everyone who may be prepared is told"}},
		{"telling a participant twice", sendsTwice, []string{"with every vote YES, everyone is told COMMIT exactly once and nothing aborts"}},
		{"accepting any input", noValidation, []string{"no participants, a duplicate participant, or a vote from a stranger is an error"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { Phase2.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestTerminateChecksCatchKnownBadRules(t *testing.T) {
	sim := Terminate.Checks[len(Terminate.Checks)-1].Name
	abortsWhenAllPrepared := func(a []twopc.PeerState) twopc.Decision {
		if d := ref.Terminate(a); d != twopc.NoDecision {
			return d
		}
		return twopc.Abort
	}
	silenceIsAbort := func(a []twopc.PeerState) twopc.Decision {
		if slices.Contains(a, twopc.PeerCommitted) {
			return twopc.Commit
		}
		if slices.Contains(a, twopc.PeerAborted) || slices.Contains(a, twopc.PeerUnknown) {
			return twopc.Abort
		}
		return twopc.NoDecision
	}
	neverDecides := func([]twopc.PeerState) twopc.Decision { return twopc.NoDecision }
	abortWins := func(a []twopc.PeerState) twopc.Decision {
		if slices.Contains(a, twopc.PeerAborted) {
			return twopc.Abort
		}
		if slices.Contains(a, twopc.PeerPrepared) {
			return twopc.NoDecision
		}
		if slices.Contains(a, twopc.PeerCommitted) {
			return twopc.Commit
		}
		return twopc.NoDecision
	}
	tests := []struct {
		name   string
		bad    TerminateFunc
		checks []string
	}{
		{"aborting when every peer is prepared", abortsWhenAllPrepared, []string{"peers in doubt or silent prove nothing: keep waiting", sim}},
		{"taking silence for an abort", silenceIsAbort, []string{"peers in doubt or silent prove nothing: keep waiting", sim}},
		{"never deciding", neverDecides, []string{"a peer that committed proves COMMIT", "a peer that aborted proves ABORT", "when one participant heard COMMIT before the coordinator died, the others stop waiting within a second"}},
		{"ignoring a committed peer when another is prepared", abortWins, []string{"a peer that committed proves COMMIT"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { Terminate.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestCompensateChecksCatchKnownBadCompensations(t *testing.T) {
	sim := NextCompensation.Checks[len(NextCompensation.Checks)-1].Name
	withKey := func(key func(p saga.Progress, step string) string) CompensateFunc {
		return func(p saga.Progress) (saga.Compensation, bool) {
			c, ok := ref.NextCompensation(p)
			if ok {
				c.Key = key(p, c.Step)
			}
			return c, ok
		}
	}
	forwardOrder := func(p saga.Progress) (saga.Compensation, bool) {
		for _, step := range p.Done {
			if !slices.Contains(p.Compensated, step) {
				return saga.Compensation{Step: step, Key: p.SagaID + "/" + step + "/undo"}, true
			}
		}
		return saga.Compensation{}, false
	}
	ignoresCompensated := func(p saga.Progress) (saga.Compensation, bool) {
		if len(p.Done) == 0 {
			return saga.Compensation{}, false
		}
		step := p.Done[len(p.Done)-1]
		return saga.Compensation{Step: step, Key: p.SagaID + "/" + step + "/undo"}, true
	}
	tests := []struct {
		name   string
		bad    CompensateFunc
		checks []string
	}{
		{"compensating in forward order", forwardOrder, []string{"the latest step that took effect is compensated first", sim}},
		{"a new key on every retry (non-idempotent retry)", withKey(func(p saga.Progress, step string) string {
			return fmt.Sprintf("%s/%s/undo/%d", p.SagaID, step, p.Attempt)
		}), []string{"a retry carries the same idempotency key as the first attempt", sim}},
		{"a key that forgets the saga", withKey(func(p saga.Progress, step string) string { return step + "/undo" }),
			[]string{"keys are unique per saga, per step, and differ from the forward step's key", sim}},
		{"reusing the forward step's key", withKey(func(p saga.Progress, step string) string { return saga.DoKey(p.SagaID, step) }),
			[]string{"keys are unique per saga, per step, and differ from the forward step's key", sim}},
		{"ignoring what is compensated already", ignoresCompensated, []string{"compensated steps are skipped, and nothing is left at the end", sim}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { NextCompensation.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestSimulationChecksReportStuckAndPanickingCode(t *testing.T) {
	panics := func(log []twopc.Kind) (twopc.Recovery, error) {
		if len(log) > 0 {
			panic("boom")
		}
		return twopc.RecoverAbort, nil
	}
	ParticipantRecovery.Catches(t, "panicking on recovery", panics, ParticipantRecovery.Checks[len(ParticipantRecovery.Checks)-1].Name)
	rep := ParticipantRecovery.Run(panics)
	last := rep.Results[len(rep.Results)-1]
	for _, want := range []string{"seed", "panicked: boom"} {
		if !strings.Contains(last.Message, want) {
			t.Errorf("the simulation check's message %q should mention %q", last.Message, want)
		}
	}
	// A recovery that returns an invalid action stalls the participant: the
	// message names the node, the virtual time and the bad answer.
	invalid := func(log []twopc.Kind) (twopc.Recovery, error) {
		if onlyPrepared(log) {
			return twopc.Recovery(9), nil
		}
		return ref.ParticipantRecovery(log)
	}
	rep = ParticipantRecovery.Run(invalid)
	last = rep.Results[len(rep.Results)-1]
	for _, want := range []string{"virtual time", "order", "Recovery(9)"} {
		if !strings.Contains(last.Message, want) {
			t.Errorf("the simulation check's message %q should mention %q", last.Message, want)
		}
	}
}

func TestSchedulesAreSeededAndCoverEveryCrashPoint(t *testing.T) {
	a, b := Schedules2PC("coordinator", 40), Schedules2PC("coordinator", 40)
	for i := range a {
		if a[i].String() != b[i].String() {
			t.Fatalf("schedule %d differs between two calls: %s / %s", i, a[i], b[i])
		}
	}
	seen := map[int]bool{}
	for _, s := range a {
		seen[s.Crashes[0].After] = true
	}
	nc, _ := twopc.CrashPoints(3)
	for k := 0; k <= nc; k++ {
		if !seen[k] {
			t.Errorf("no coordinator schedule crashes after %d effects", k)
		}
	}
	if d := SchedulesSaga(3)[1].Crash.Downtime; d > 5*time.Second {
		t.Errorf("saga schedule downtime %v exceeds 5s", d)
	}
}

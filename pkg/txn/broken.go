package txn

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

// Deliberately broken rules, for the notebook's "break it" cells and the
// checkers' own tests: each is the reference with one classic mistake.

// ForgetPrepared is a participant recovery that forgets a prepared
// transaction on restart: it aborts instead of staying in doubt.
func ForgetPrepared(log []twopc.Kind) (twopc.Recovery, error) {
	r, err := ref.ParticipantRecovery(log)
	if err == nil && r == twopc.RecoverInDoubt {
		return twopc.RecoverAbort, nil
	}
	return r, err
}

// SendBeforeLog is a coordinator phase 2 that sends COMMIT before it
// logs it.
func SendBeforeLog(participants []string, votes map[string]twopc.Vote) ([]twopc.Effect, error) {
	es, err := ref.Phase2(participants, votes)
	if err == nil && len(es) > 0 && es[0].Kind == twopc.LogDecision {
		es = append(es[1:], es[0])
	}
	return es, err
}

// AbortWhenAllPrepared is a termination rule that gives up waiting: when
// every peer is in doubt it aborts.
func AbortWhenAllPrepared(answers []twopc.PeerState) twopc.Decision {
	if d := ref.Terminate(answers); d != twopc.NoDecision {
		return d
	}
	return twopc.Abort
}

// ForwardOrder compensates the saga's steps first to last.
func ForwardOrder(p saga.Progress) (saga.Compensation, bool) {
	for i := range p.Done {
		c, ok := ref.NextCompensation(saga.Progress{SagaID: p.SagaID, Steps: p.Steps, Done: p.Done[i : i+1], Compensated: p.Compensated, Attempt: p.Attempt})
		if ok {
			return c, true
		}
	}
	return saga.Compensation{}, false
}

// KeyPerAttempt compensates in the right order but gives every retry a
// fresh idempotency key, so a retry whose first attempt did work has a
// second effect.
func KeyPerAttempt(p saga.Progress) (saga.Compensation, bool) {
	c, ok := ref.NextCompensation(p)
	if ok {
		c.Key = fmt.Sprintf("%s#%d", c.Key, p.Attempt)
	}
	return c, ok
}

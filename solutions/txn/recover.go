// Package txn holds the reference solutions of notebooks/05-2pc-vs-sagas:
// the decisions of two-phase commit that keep it atomic across crashes, and
// the saga's compensation step.
package txn

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

// ParticipantRecovery decides what a restarting 2PC participant does for
// one transaction, from the records it logged for it (oldest first): its
// memory is gone, the log is all it has.
//
//   - a decision in the log (COMMITTED, or ABORTED / VOTED-NO) is redone;
//   - PREPARED with no decision: the participant promised to commit if told
//     to, so it may not decide alone; it takes its locks again, stays in
//     doubt and asks for the outcome;
//   - nothing logged: it never voted YES, so it aborts on its own (a unilateral abort: it had promised nothing; presumed abort is the coordinator's rule, not this).
//
// A log holding an unknown record, or both a COMMIT and an ABORT, is an
// error.
//
//dsgym:exercise txn/recover
func ParticipantRecovery(log []twopc.Kind) (twopc.Recovery, error) {
	//dsgym:solution
	prepared, committed, aborted := false, false, false
	for _, k := range log {
		switch k {
		case twopc.Prepared:
			prepared = true
		case twopc.Committed:
			committed = true
		case twopc.Aborted, twopc.VotedNo:
			aborted = true
		default:
			return 0, fmt.Errorf("the log holds %v, which a participant never writes", k)
		}
	}
	switch {
	case committed && aborted:
		return 0, fmt.Errorf("the log %v holds both a COMMIT and an ABORT", log)
	case committed:
		return twopc.RecoverCommit, nil
	case aborted:
		return twopc.RecoverAbort, nil
	case prepared:
		return twopc.RecoverInDoubt, nil
	}
	return twopc.RecoverAbort, nil
	//dsgym:stub
	// panic("not implemented yet: ParticipantRecovery: map the logged records of one transaction to RecoverCommit, RecoverAbort or RecoverInDoubt; an error for an unknown record or both COMMIT and ABORT")
	//dsgym:end
}

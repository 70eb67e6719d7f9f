package txn

import (
	"slices"

	"github.com/dsgym/dsgym/pkg/txn/saga"
)

// NextCompensation chooses the next compensating request of a failed saga
// from what its log says (p): undo the most recent step that took effect
// and is not compensated yet (reverse order: a later step may depend on an
// earlier one, as a charge depends on the order it pays for), or report
// false when every step that took effect is compensated.
//
// The request's idempotency key must name the saga, the step and the fact
// that it is a compensation, and nothing else: the orchestrator calls again
// with p.Attempt raised when a request timed out, and the retry must carry
// the same key, so that a service which applied the first attempt (and only
// its answer was lost) answers again without refunding twice.
//
//dsgym:exercise txn/compensate
func NextCompensation(p saga.Progress) (saga.Compensation, bool) {
	//dsgym:solution
	for i := len(p.Done) - 1; i >= 0; i-- {
		step := p.Done[i]
		if !slices.Contains(p.Compensated, step) {
			return saga.Compensation{Step: step, Key: p.SagaID + "/" + step + "/undo"}, true
		}
	}
	return saga.Compensation{}, false
	//dsgym:stub
	// panic("not implemented yet: NextCompensation: return the latest done step not yet compensated, with a key made of the saga id and the step (the same on every attempt); false when none is left")
	//dsgym:end
}

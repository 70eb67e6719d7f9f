package outbox

import "github.com/dsgym/dsgym/pkg/outbox/step"

// Confirm returns the position a log-based relay may confirm: walking
// inflight in commit order, the End of each acknowledged transaction
// until the first one that is not; confirmed when the first is not (or
// there is none). The result is never below confirmed: an older End (a
// replayed transaction) does not move it back.
//
//dsgym:exercise outbox/confirm
func Confirm(confirmed uint64, inflight []step.InFlight) uint64 {
	//dsgym:solution
	pos := confirmed
	for _, t := range inflight {
		if !t.Acked {
			break
		}
		pos = max(pos, t.End)
	}
	return pos
	//dsgym:stub
	// panic("not implemented yet: Confirm: the End of the last transaction of the longest acknowledged prefix, never below confirmed")
	//dsgym:end
}

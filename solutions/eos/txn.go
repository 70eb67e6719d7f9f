package eos

import (
	"context"
	"fmt"

	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnBatch processes one batch in one Kafka transaction (KIP-98): Begin,
// produce the batch's output, then End with kgo.TryCommit, which commits
// the consumed offsets inside the same transaction, so that output and
// progress become visible together or not at all.
//
//   - A failed Produce aborts the transaction (End with kgo.TryAbort) and
//     returns Retry: the session rewinds and the batch comes again.
//   - End reporting committed=false (the session aborted: a rebalance
//     since Begin, KIP-447) returns Retry too.
//   - A fenced producer (step.IsFenced) stops at once with an error:
//     another instance owns the transactional.id and has aborted this
//     one's transaction; never Begin again. Any error from Begin or End
//     also stops the instance.
//
// Offsets are never committed outside the transaction (s.CommitOffsets):
// a crash between that commit and End would lose the batch.
//
//dsgym:exercise eos/txn
func TxnBatch(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
	//dsgym:solution
	if err := s.Begin(); err != nil {
		return step.Retry, fmt.Errorf("begin: %w", err)
	}
	if err := s.Produce(ctx, out...); err != nil {
		if step.IsFenced(err) {
			return step.Retry, fmt.Errorf("fenced while producing: %w", err)
		}
		if _, endErr := s.End(ctx, kgo.TryAbort); endErr != nil {
			return step.Retry, fmt.Errorf("abort after a failed produce (%v): %w", err, endErr)
		}
		return step.Retry, nil
	}
	committed, err := s.End(ctx, kgo.TryCommit)
	if err != nil {
		return step.Retry, fmt.Errorf("commit: %w", err)
	}
	if !committed {
		return step.Retry, nil
	}
	return step.Committed, nil
	//dsgym:stub
	// panic("not implemented yet: TxnBatch: Begin, Produce the batch, End with TryCommit; abort and Retry when a produce fails or End did not commit; stop on a fenced producer")
	//dsgym:end
}

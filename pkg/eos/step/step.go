// Package step declares the two pieces of a read-process-write pipeline
// that decide whether it is exactly-once, as function types a learner
// implements (exercises eos/txn and eos/sink of notebook 06) and package
// eos runs under crashes:
//
//   - TxnFunc, the transactional step: one batch's output and its consumer
//     offsets committed in one Kafka transaction, through a Session;
//   - Sink, the idempotent SQL sink: a batch's rows and the next offsets
//     written in one database transaction, and read back on restart.
//
// The reference versions are in solutions/eos.
package step

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Session is the part of franz-go's GroupTransactSession a transactional
// step uses. Its consumer has already polled the batch.
type Session interface {
	// Begin starts a transaction.
	Begin() error
	// Produce writes records inside the open transaction and waits until
	// the broker acknowledged them (or one failed).
	Produce(ctx context.Context, rs ...*kgo.Record) error
	// End ends the transaction: with kgo.TryCommit it commits the polled
	// offsets (sent to the group coordinator inside the transaction, as
	// KIP-447 describes) together with the records, unless the session
	// must abort (a rebalance since Begin, a failed produce), in which
	// case it aborts and rewinds the consumer to the last committed
	// offsets; it reports whether it committed. With kgo.TryAbort it
	// aborts. An error (a fenced producer among them) means the
	// transaction's outcome is not committed and the session must stop.
	End(ctx context.Context, try kgo.TransactionEndTry) (committed bool, err error)
	// CommitOffsets commits the polled offsets to the group directly, as
	// a plain consumer does: outside any transaction. A transactional step
	// never needs it.
	CommitOffsets(ctx context.Context) error
}

// Outcome is what a transactional step did with its batch.
type Outcome int

const (
	// Retry: the transaction was aborted; the session rewound, and the
	// batch will be polled and processed again.
	Retry Outcome = iota
	// Committed: the batch's output and offsets are committed.
	Committed
)

// String names the outcome.
func (o Outcome) String() string {
	if o == Committed {
		return "committed"
	}
	return "retry"
}

// TxnFunc processes one batch in one transaction: begin, produce out, end
// with a commit. It returns Committed, or Retry when the transaction was
// aborted (and the batch will come again), or an error that stops the
// instance (a fenced producer: another instance owns the transactional.id
// now).
type TxnFunc func(ctx context.Context, s Session, out []*kgo.Record) (Outcome, error)

// IsFenced reports whether err says this producer was fenced: another
// producer with the same transactional.id initialised after it
// (PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH from an older broker). A
// fenced producer must stop; retrying can never succeed.
func IsFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kgo"
)

// LogRelay publishes the outbox's inserts as the write-ahead log carries
// them: whole committed transactions, in commit order, from a logical
// replication slot. It confirms a transaction's end position to the slot
// only after the broker acknowledged every event up to it, and only every
// ConfirmEvery transactions: a relay that dies re-publishes what it had
// not confirmed (at most ConfirmEvery transactions' events), and skips
// nothing. Rows deleted right after insert (DeleteAfterInsert) are still
// published: the insert is in the log.
type LogRelay struct {
	s       *cdc.Stream
	pub     *publisher
	table   string
	crash   *Crash
	every   int
	first   bool
	pending int
	last    pglogrepl.LSN
	// held is a transaction whose publish failed: the next Step
	// publishes it again before it reads anything further, since
	// confirming a later transaction would confirm this one too.
	held  *cdc.Txn
	stats RelayStats
}

// LogRelayConfig shapes a LogRelay.
type LogRelayConfig struct {
	// Slot and Publication name the replication slot and publication
	// (the publication must cover the outbox table: SetupLog).
	Slot, Publication string
	Topic             string
	// ConfirmEvery is how many transactions are published between two
	// confirmations (default 1: each one).
	ConfirmEvery int
	// confirmFirst is the known-bad order the tests use: confirm the
	// transaction, then publish it.
	confirmFirst bool
	// ProducerOpts are extra franz-go options for the relay's producer
	// (a dialer that cuts the broker off, say).
	ProducerOpts []kgo.Opt
}

// SetupLog creates the publication on d's outbox table and the slot,
// before anything is written: a slot only sees what commits after it
// was created.
func SetupLog(ctx context.Context, d *Database, slot, publication string) error {
	if !d.Postgres() {
		return errors.New("outbox: log-based CDC needs PostgreSQL (make postgres, then DSGYM_POSTGRES_URL); SQLite has no logical replication, use the polling relay")
	}
	if err := cdc.Setup(ctx, d.Engine.URL, publication, d.Table("outbox")); err != nil {
		return err
	}
	s, err := cdc.Open(ctx, d.Engine.URL, slot, publication)
	if err != nil {
		return err
	}
	return s.Close(ctx)
}

// NewLogRelay opens the stream on the slot (resuming after its confirmed
// position) and the producer.
func NewLogRelay(ctx context.Context, d *Database, k *engines.KafkaEngine, cfg LogRelayConfig, crash *Crash) (*LogRelay, error) {
	if cfg.ConfirmEvery <= 0 {
		cfg.ConfirmEvery = 1
	}
	s, err := cdc.Open(ctx, d.Engine.URL, cfg.Slot, cfg.Publication, cdc.StatusInterval(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	pub, err := newPublisher(k, cfg.Topic, cfg.ProducerOpts)
	if err != nil {
		s.Abandon()
		return nil, err
	}
	return &LogRelay{s: s, pub: pub, table: "outbox", crash: crash, every: cfg.ConfirmEvery, first: cfg.confirmFirst}, nil
}

// Step publishes one committed transaction's outbox inserts. It returns
// how many it published, at least 1 when a transaction arrived.
func (r *LogRelay) Step(ctx context.Context, wait time.Duration) (int, error) {
	txn := r.held
	if txn == nil {
		nctx, cancel := context.WithTimeout(ctx, wait)
		next, err := r.s.Next(nctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// Idle: confirm what is published and not yet confirmed.
			return 0, r.confirm()
		}
		if err != nil {
			return 0, fmt.Errorf("relay: %w", err)
		}
		txn = next
	}
	r.held = nil
	var rows []row
	for _, c := range txn.Changes {
		if c.Table != r.table || c.Op != cdc.Insert {
			continue // the router drops deletes (the purge) and ignores other tables
		}
		rw, err := logRow(c.New)
		if err != nil {
			return 0, fmt.Errorf("relay: txn %d: %w", txn.Xid, err)
		}
		rw.committed = txn.CommitTime
		rows = append(rows, rw)
	}
	if r.first {
		r.last, r.pending = txn.EndLSN, 1
		if err := r.s.Ack(txn.EndLSN); err != nil {
			return 0, err
		}
		if _, err := r.s.Flush(ctx); err != nil { // and make sure the server has it
			return 0, err
		}
		r.pending = 0
	}
	if len(rows) > 0 && r.crash.hit(RelayBeforePublish) {
		return 0, ErrCrashed
	}
	if err := r.pub.publish(ctx, rows, &r.stats.Latency); err != nil {
		r.held = txn
		return 0, err
	}
	r.stats.Published += len(rows)
	r.last = txn.EndLSN
	r.pending++
	if r.pending >= r.every {
		if err := r.confirm(); err != nil {
			return len(rows), err
		}
	}
	return max(len(rows), 1), nil
}

// confirm acknowledges the last published transaction's end.
func (r *LogRelay) confirm() error {
	if r.pending == 0 {
		return nil
	}
	if r.crash.hit(RelayBeforeConfirm) {
		return ErrCrashed
	}
	if err := r.s.Ack(r.last); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	r.pending = 0
	r.stats.Confirms++
	return nil
}

// logRow reads an outbox insert's columns.
func logRow(cols map[string]any) (row, error) {
	var rw row
	for _, f := range []struct {
		name string
		dst  *string
	}{{"id", &rw.id}, {"aggregateid", &rw.aggregate}, {"type", &rw.kind}, {"payload", &rw.payload}, {"trace_id", &rw.trace}} {
		v, ok := cols[f.name]
		if !ok {
			return rw, fmt.Errorf("outbox insert without %s", f.name)
		}
		switch v := v.(type) {
		case string:
			*f.dst = v
		case []byte:
			*f.dst = string(v)
		default: // jsonb arrives decoded (map[string]any)
			b, err := json.Marshal(v)
			if err != nil {
				return rw, fmt.Errorf("outbox insert: column %s: %w", f.name, err)
			}
			*f.dst = string(b)
		}
	}
	return rw, nil
}

// Stats is what the relay did in this life.
func (r *LogRelay) Stats() RelayStats { return r.stats }

// Close confirms nothing more and closes the stream and the producer
// (a clean stop would Ack and Close; a crash abandons).
func (r *LogRelay) Close() {
	r.s.Abandon()
	r.pub.close()
}

// Stop confirms what is published and closes cleanly.
func (r *LogRelay) Stop(ctx context.Context) error {
	err := r.confirm()
	err = errors.Join(err, r.s.Close(ctx))
	r.pub.close()
	return err
}

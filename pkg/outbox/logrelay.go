package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kgo"
)

// LogRelay publishes the outbox's inserts as the write-ahead log carries
// them: whole committed transactions, in commit order, from a logical
// replication slot. It produces each transaction's events without waiting
// (the idempotent producer keeps each partition in order), and the broker
// acknowledges them in whatever order its partitions answer; a
// ConfirmFunc then picks the position to confirm to the slot: the end of
// the longest fully acknowledged prefix of the transactions in flight. A
// relay that dies re-publishes what it had not confirmed, and skips
// nothing. Rows deleted right after insert (DeleteAfterInsert) are still
// published: the insert is in the log.
type LogRelay struct {
	s       *cdc.Stream
	pub     *publisher
	table   string
	crash   *Crash
	every   int
	first   bool
	confirm step.ConfirmFunc
	url     string
	slot    string

	confirmed uint64 // the position last confirmed (Ack)
	since     int    // transactions received since the last confirm

	tr *tracer

	mu       sync.Mutex // guards what the producer's callbacks touch
	inflight []*flight
	failed   error
	stats    RelayStats
}

// flight is one transaction being published.
type flight struct {
	end     pglogrepl.LSN
	waiting int // events not yet acknowledged
}

// LogRelayConfig shapes a LogRelay.
type LogRelayConfig struct {
	// Slot and Publication name the replication slot and publication
	// (the publication must cover the outbox table: SetupLog).
	Slot, Publication string
	Topic             string
	// ConfirmEvery is how many transactions the relay receives between
	// two confirmations (default 1: it tries after each one, and when
	// idle).
	ConfirmEvery int
	// Confirm picks the position to confirm (nil: the reference,
	// solutions/outbox.Confirm; exercise outbox/confirm).
	Confirm step.ConfirmFunc
	// ProducerOpts are extra franz-go options for the relay's producer
	// (a dialer that cuts the broker off, say).
	ProducerOpts []kgo.Opt
	// confirmFirst is the known-bad order the tests use: confirm each
	// transaction as it arrives, then publish it.
	confirmFirst bool
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
// position) and the producer. The slot must exist (SetupLog): a relay
// that created a missing slot itself would start from the server's
// current position and silently skip every outbox row committed since
// the old slot went away, so it refuses, saying so.
func NewLogRelay(ctx context.Context, d *Database, k *engines.KafkaEngine, cfg LogRelayConfig, crash *Crash) (*LogRelay, error) {
	if cfg.ConfirmEvery <= 0 {
		cfg.ConfirmEvery = 1
	}
	if !d.Postgres() {
		return nil, errNeedsPostgres
	}
	switch _, err := cdc.SlotStatus(ctx, d.Engine.URL, cfg.Slot); {
	case errors.Is(err, cdc.ErrNoSlot):
		return nil, fmt.Errorf("outbox: replication slot %s does not exist: create it with SetupLog before the first outbox row is written (a slot created now would skip every row committed before it; to start over on purpose, run SetupLog, then replay or re-publish the outbox)", cfg.Slot)
	case err != nil:
		return nil, err
	}
	if cfg.Confirm == nil {
		cfg.Confirm = ref.Confirm
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
	return &LogRelay{s: s, pub: pub, table: "outbox", crash: crash, every: cfg.ConfirmEvery, first: cfg.confirmFirst, url: d.Engine.URL, slot: cfg.Slot,
		confirm: cfg.Confirm, confirmed: uint64(s.Start())}, nil
}

// Step receives one committed transaction and starts publishing its
// outbox inserts, then confirms what the broker has acknowledged. It
// returns how many events it started publishing, at least 1 when a
// transaction arrived, and 0 only when it is idle with nothing in flight.
// A failed publish is an error: the relay must be closed and started
// again, and it resumes after the confirmed position.
func (r *LogRelay) Step(ctx context.Context, wait time.Duration) (int, error) {
	if err := r.err(); err != nil {
		return 0, err
	}
	nctx, cancel := context.WithTimeout(ctx, wait)
	txn, err := r.s.Next(nctx)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// Idle: confirm what has been acknowledged meanwhile.
		if err := r.tryConfirm(); err != nil {
			return 0, err
		}
		r.mu.Lock()
		busy := len(r.inflight)
		r.mu.Unlock()
		return min(busy, 1), nil
	}
	if err != nil {
		return 0, fmt.Errorf("relay: %w", err)
	}
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
		if err := r.s.Ack(txn.EndLSN); err != nil {
			return 0, err
		}
		if _, err := r.s.Flush(ctx); err != nil {
			return 0, err
		}
		// And wait until the slot shows it: Flush's answer can be a
		// keepalive sent before the server read the update.
		if err := r.waitConfirmed(ctx, txn.EndLSN); err != nil {
			return 0, err
		}
		r.confirmed = uint64(txn.EndLSN)
	}
	r.tr.add("DB", "R", "WAL: a committed transaction with %d outbox inserts", len(rows))
	if len(rows) > 0 && r.crash.hit(RelayBeforePublish) {
		r.tr.note("R", true, "before publishing")
		return 0, ErrCrashed
	}
	if len(rows) > 0 {
		r.tr.add("R", "Out", "publish %d events (%s ... %s), acks come back as they may", len(rows), rows[0].id, rows[len(rows)-1].id)
	}
	f := &flight{end: txn.EndLSN, waiting: len(rows)}
	r.mu.Lock()
	r.inflight = append(r.inflight, f)
	r.mu.Unlock()
	for _, rw := range rows {
		r.pub.cl.Produce(ctx, rw.record(), func(_ *kgo.Record, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				if r.failed == nil {
					r.failed = fmt.Errorf("relay: publish: %w", err)
				}
				return
			}
			f.waiting--
			r.stats.Published++
			r.stats.Latency = append(r.stats.Latency, time.Since(rw.committed))
		})
	}
	r.since++
	if r.since >= r.every {
		if err := r.tryConfirm(); err != nil {
			return len(rows), err
		}
	}
	return max(len(rows), 1), nil
}

func (r *LogRelay) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// tryConfirm asks the ConfirmFunc for the position to confirm and, when
// it moved, acknowledges it to the stream and forgets the transactions
// it covers.
func (r *LogRelay) tryConfirm() error {
	r.mu.Lock()
	fs := make([]step.InFlight, len(r.inflight))
	for i, f := range r.inflight {
		fs[i] = step.InFlight{End: uint64(f.end), Acked: f.waiting == 0}
	}
	r.mu.Unlock()
	pos := r.confirm(r.confirmed, fs)
	if pos < r.confirmed {
		return fmt.Errorf("relay: the confirm function went back from %s to %s", pglogrepl.LSN(r.confirmed), pglogrepl.LSN(pos))
	}
	if pos > r.confirmed {
		if r.crash.hit(RelayBeforeConfirm) {
			r.tr.note("R", true, "after the acks, before confirming %s", pglogrepl.LSN(pos))
			return ErrCrashed
		}
		if err := r.s.Ack(pglogrepl.LSN(pos)); err != nil {
			return fmt.Errorf("relay: %w", err)
		}
		r.confirmed = pos
		r.since = 0
		r.stats.Confirms++
		r.tr.add("R", "DB", "confirm LSN %s (acknowledged up to it)", pglogrepl.LSN(pos))
	}
	// Forget the acknowledged transactions the confirmed position covers.
	r.mu.Lock()
	for len(r.inflight) > 0 && uint64(r.inflight[0].end) <= r.confirmed && r.inflight[0].waiting == 0 {
		r.inflight = r.inflight[1:]
	}
	r.mu.Unlock()
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
func (r *LogRelay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Latency = append([]time.Duration(nil), s.Latency...)
	return s
}

// Close confirms nothing more and closes the stream and the producer,
// as a crash would (what was acknowledged but not yet sent to the server
// is published again by the next relay).
func (r *LogRelay) Close() {
	r.s.Abandon()
	r.pub.close()
}

// waitConfirmed waits, at most 5 s, until the slot's confirmed position
// reaches lsn (the known-bad confirm-first relay uses it, so that its
// early confirmation is really on the server when it crashes).
func (r *LogRelay) waitConfirmed(ctx context.Context, lsn pglogrepl.LSN) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := cdc.SlotStatus(ctx, r.url, r.slot)
		if err != nil {
			return err
		}
		if st.ConfirmedFlush >= lsn {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("relay: slot %s confirmed %s, not %s, after 5 s", r.slot, st.ConfirmedFlush, lsn)
		}
		if _, err := r.s.Flush(ctx); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

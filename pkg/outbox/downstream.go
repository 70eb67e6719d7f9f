package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ApplyFunc applies one output event downstream at most once (package
// step).
type ApplyFunc = step.ApplyFunc

// Downstream consumes the output topic in a consumer group and applies
// each batch in one database transaction, committing its offsets after.
type Downstream struct {
	db    *sql.DB
	cl    *kgo.Client
	apply ApplyFunc
	crash *Crash
	batch int
	pg    bool
	tr    *tracer
	// Applied and Duplicates count events applied and events the inbox
	// recognised.
	Applied, Duplicates int
}

// DownstreamConfig shapes a Downstream.
type DownstreamConfig struct {
	Topic, Group string
	Batch        int       // default 100
	Apply        ApplyFunc // nil: solutions/outbox.ApplyOnce, batched on PostgreSQL
}

// NewDownstream joins the consumer group.
func NewDownstream(ctx context.Context, d *Database, k *engines.KafkaEngine, cfg DownstreamConfig, crash *Crash) (*Downstream, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	db, err := d.Open()
	if err != nil {
		return nil, err
	}
	cl, err := k.Client(
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50*time.Millisecond),
		// Records of aborted transactions (design A) are never applied;
		// the relays' plain records are visible at once.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Downstream{db: db, cl: cl, apply: cfg.Apply, crash: crash, batch: cfg.Batch, pg: d.Postgres()}, nil
}

// Step consumes one batch, waiting at most wait, and returns how many
// records it read.
func (s *Downstream) Step(ctx context.Context, wait time.Duration) (int, error) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	fs := s.cl.PollRecords(pctx, s.batch)
	cancel()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rs := fs.Records()
	if len(rs) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("downstream: begin: %w", err)
	}
	ids := make([]string, len(rs))
	es := make([]Event, len(rs))
	for i, r := range rs {
		ids[i] = header(r, IDHeader)
		if ids[i] == "" {
			tx.Rollback()
			return 0, fmt.Errorf("downstream: %s/%d@%d has no %q header", r.Topic, r.Partition, r.Offset, IDHeader)
		}
		if err := json.Unmarshal(r.Value, &es[i]); err != nil {
			tx.Rollback()
			return 0, fmt.Errorf("downstream: %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
	}
	var applied int
	if s.apply == nil && s.pg {
		if applied, err = applyBatchPG(ctx, tx, ids, es); err != nil {
			tx.Rollback()
			return 0, fmt.Errorf("downstream: %w", err)
		}
	} else {
		apply := s.apply
		if apply == nil {
			apply = ref.ApplyOnce
		}
		for i, id := range ids {
			ok, err := apply(ctx, tx, id, es[i])
			if err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("downstream: event %s: %w", id, err)
			}
			if ok {
				applied++
			}
		}
	}
	dups := len(rs) - applied
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("downstream: commit: %w", err)
	}
	s.tr.add("Out", "D", "poll %d events", len(rs))
	s.tr.add("D", "DB", "BEGIN, inbox, apply %d new (%d duplicates skipped), COMMIT", applied, len(rs)-applied)
	s.Applied += applied
	s.Duplicates += dups
	if s.crash.hit(DownstreamBeforeOffsets) {
		s.tr.note("D", true, "after applying, before the offset commit")
		return 0, ErrCrashed
	}
	s.tr.add("D", "Out", "commit offsets")
	if err := s.cl.CommitRecords(ctx, rs...); err != nil && !errors.Is(err, context.Canceled) {
		return len(rs), fmt.Errorf("downstream: offset commit: %w", err)
	}
	return len(rs), nil
}

// Close leaves the group and closes the connections.
func (s *Downstream) Close() {
	s.cl.Close()
	s.db.Close()
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

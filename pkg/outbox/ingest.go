package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The ingest's pluggable write, from package step.
type (
	// Write is one input record inside its batch's transaction.
	Write = step.Write
	// WriteFunc writes one record's inbox, business and outbox rows.
	WriteFunc = step.WriteFunc
)

// Ingest is the consumer of the input topic: a member of a consumer group
// that writes each batch in one database transaction and commits the
// batch's Kafka offsets after COMMIT. Kafka's offsets may therefore lag
// the database; the inbox makes the replay harmless.
type Ingest struct {
	name  string
	topic string
	db    *sql.DB
	cl    *kgo.Client
	cfg   IngestConfig
	crash *Crash
	pg    bool
	n     int
	// Applied and Skipped count records written and records the inbox
	// had already seen.
	Applied, Skipped int
	// Committed is, per partition, the next offset whose Kafka commit
	// this life saw succeed.
	Committed map[int32]int64
	tr        *tracer
	// beforeOffsets, when set, runs between the database COMMIT and the
	// offset commit (Run's rebalance joins a second instance there).
	beforeOffsets func()
}

// ErrOffsetCommit wraps a failed offset commit: the batch's rows are in
// the database, the batch will be delivered again and the inbox skips it,
// so a driver may carry on (a rebalance makes the old owner's commit fail).
var ErrOffsetCommit = errors.New("ingest: offset commit")

// IngestConfig shapes an Ingest.
type IngestConfig struct {
	Topic, Group string
	// Batch is the most records per database transaction (default 100).
	Batch int
	Purge Purge
	// Write writes one record. Nil: the reference (solutions/outbox.
	// WriteOrder) record by record on SQLite, and on
	// PostgreSQL the same writes for the whole batch in five statements.
	Write WriteFunc
}

// NewIngest joins the consumer group. name makes its event ids unique
// (give each life of a restarted ingest a new one).
func NewIngest(ctx context.Context, d *Database, k *engines.KafkaEngine, name string, cfg IngestConfig, crash *Crash) (*Ingest, error) {
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
	)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Ingest{name: name, topic: cfg.Topic, db: db, cl: cl, cfg: cfg, crash: crash, pg: d.Postgres(), Committed: map[int32]int64{}}, nil
}

// Step consumes one batch, waiting at most wait for it, and returns how
// many records it took (0: nothing arrived).
func (g *Ingest) Step(ctx context.Context, wait time.Duration) (int, error) {
	pctx, cancel := context.WithTimeout(ctx, wait)
	fs := g.cl.PollRecords(pctx, g.cfg.Batch)
	cancel()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var err error
	fs.EachError(func(_ string, _ int32, e error) {
		if !errors.Is(e, context.DeadlineExceeded) && !errors.Is(e, context.Canceled) && err == nil {
			err = e
		}
	})
	if err != nil {
		return 0, fmt.Errorf("ingest: fetch: %w", err)
	}
	rs := fs.Records()
	if len(rs) == 0 {
		return 0, nil
	}
	g.tr.add("In", "I", "poll %d records", len(rs))
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("ingest: begin: %w", err)
	}
	now := time.Now()
	ws := make([]Write, len(rs))
	for i, r := range rs {
		g.n++
		ws[i] = Write{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: r.Value,
			EventID: fmt.Sprintf("%s-e%d", g.name, g.n), TraceID: fmt.Sprintf("%s-t%d", g.name, g.n),
			Now: now, Purge: g.cfg.Purge, Postgres: g.pg}
	}
	var applied, skipped int
	if g.cfg.Write == nil && g.pg {
		applied, skipped, err = writeBatchPG(ctx, tx, ws)
	} else {
		write := g.cfg.Write
		if write == nil {
			write = ref.WriteOrder
		}
		applied, skipped, err = writeEach(ctx, tx, ws, write)
	}
	if err != nil {
		tx.Rollback()
		return 0, fmt.Errorf("ingest: %w", err)
	}
	g.tr.add("I", "DB", "BEGIN, inbox rows, %d orders and outbox rows (%d seen before)", applied, skipped)
	if g.crash.hit(IngestBeforeCommit) {
		tx.Rollback()
		g.tr.note("I", true, "before COMMIT (rolled back)")
		return 0, ErrCrashed
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("ingest: commit: %w", err)
	}
	g.tr.add("I", "DB", "COMMIT")
	g.Applied += applied
	g.Skipped += skipped
	if g.crash.hit(IngestBeforeOffsets) {
		g.tr.note("I", true, "after COMMIT, before the offset commit")
		return 0, ErrCrashed
	}
	if g.beforeOffsets != nil {
		g.beforeOffsets()
	}
	if err := g.cl.CommitRecords(ctx, rs...); err != nil {
		// The rows are in; the batch comes again and the inbox skips it.
		return len(rs), fmt.Errorf("%w: %w", ErrOffsetCommit, err)
	}
	for _, r := range rs {
		g.Committed[r.Partition] = max(g.Committed[r.Partition], r.Offset+1)
	}
	g.tr.add("I", "In", "commit offsets")
	return len(rs), nil
}

// Close leaves the group and closes the connections. After a crash the
// driver calls it too: nothing is committed on the way out (autocommit
// is off), which is all a crash means to the rest of the pipeline.
func (g *Ingest) Close() {
	g.cl.Close()
	g.db.Close()
}

package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Write is one input record as the ingest consumer hands it to a
// WriteFunc, inside the database transaction of its batch.
type Write struct {
	Topic     string
	Partition int32
	Offset    int64
	Value     []byte
	// EventID and TraceID are fresh for this pass over the record: a
	// record processed twice gets two different event ids, as a UUID
	// generated at write time would.
	EventID, TraceID string
	Now              time.Time
	Purge            Purge
	Postgres         bool
}

// WriteFunc writes one input record's effects inside tx: the inbox row,
// the enriched business row and the outbox row. It reports whether it
// applied the record (false: the inbox already had it). A malformed
// record is written to the rejected table, not returned as an error: an
// error rolls the batch back, and a record that can never be processed
// would then stop the pipeline.
type WriteFunc func(ctx context.Context, tx *sql.Tx, w Write) (applied bool, err error)

// WriteOrder is the reference WriteFunc: inbox first (a second delivery
// stops there), then the customer lookup (the enrichment), the order
// upsert and the outbox insert, all in the caller's transaction.
func WriteOrder(ctx context.Context, tx *sql.Tx, w Write) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO inbox (topic, partition, "offset") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, w.Topic, w.Partition, w.Offset)
	if err != nil {
		return false, fmt.Errorf("inbox: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // seen before
	}
	o, err := parseOrder(w.Value)
	if err != nil {
		return true, reject(ctx, tx, w, err.Error())
	}
	var name, region string
	switch err := tx.QueryRowContext(ctx, "SELECT name, region FROM customers WHERE id = $1", o.Customer).Scan(&name, &region); {
	case errors.Is(err, sql.ErrNoRows):
		return true, reject(ctx, tx, w, fmt.Sprintf("order %s: unknown customer %q", o.ID, o.Customer))
	case err != nil:
		return false, fmt.Errorf("enrich: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, customer_id, amount, region, event_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET applied = orders.applied + 1, event_id = excluded.event_id`,
		o.ID, o.Customer, o.Amount, region, w.EventID); err != nil {
		return false, fmt.Errorf("order: %w", err)
	}
	return true, insertEvent(ctx, tx, w, Event{Order: o.ID, Customer: o.Customer, Amount: o.Amount, Region: region, Name: name})
}

// insertEvent inserts the outbox row for e (and deletes it at once with
// DeleteAfterInsert).
func insertEvent(ctx context.Context, tx *sql.Tx, w Write, e Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var created any = w.Now
	if !w.Postgres {
		created = w.Now.UnixMicro()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, trace_id, created_at) VALUES ($1, 'customer', $2, 'OrderPlaced', $3, $4, $5)`,
		w.EventID, e.Customer, string(payload), w.TraceID, created); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if w.Purge == DeleteAfterInsert {
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE id = $1", w.EventID); err != nil {
			return fmt.Errorf("outbox purge: %w", err)
		}
	}
	return nil
}

// reject records a record that cannot be processed, with the reason.
func reject(ctx context.Context, tx *sql.Tx, w Write, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rejected (topic, partition, "offset", reason, value) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		w.Topic, w.Partition, w.Offset, reason, string(w.Value))
	return err
}

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
}

// IngestConfig shapes an Ingest.
type IngestConfig struct {
	Topic, Group string
	// Batch is the most records per database transaction (default 100).
	Batch int
	Purge Purge
	// Write writes one record. Nil: WriteOrder on SQLite, and on
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
			write = WriteOrder
		}
		applied, skipped, err = writeEach(ctx, tx, ws, write)
	}
	if err != nil {
		tx.Rollback()
		return 0, fmt.Errorf("ingest: %w", err)
	}
	if g.crash.hit(IngestBeforeCommit) {
		tx.Rollback()
		return 0, ErrCrashed
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("ingest: commit: %w", err)
	}
	g.Applied += applied
	g.Skipped += skipped
	if g.crash.hit(IngestBeforeOffsets) {
		return 0, ErrCrashed
	}
	if err := g.cl.CommitRecords(ctx, rs...); err != nil {
		// The rows are in; the batch comes again and the inbox skips it.
		return len(rs), fmt.Errorf("ingest: offset commit: %w", err)
	}
	for _, r := range rs {
		g.Committed[r.Partition] = max(g.Committed[r.Partition], r.Offset+1)
	}
	return len(rs), nil
}

// Close leaves the group and closes the connections. After a crash the
// driver calls it too: nothing is committed on the way out (autocommit
// is off), which is all a crash means to the rest of the pipeline.
func (g *Ingest) Close() {
	g.cl.Close()
	g.db.Close()
}

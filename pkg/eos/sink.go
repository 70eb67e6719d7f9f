package eos

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	_ "modernc.org/sqlite" // driver "sqlite"
)

// sinkSchema is the idempotent sink: the output rows under their natural
// unique key (key, seq), so that writing a row twice is a no-op, and the
// next input offset per partition, written in the same transaction.
const sinkSchema = `
CREATE TABLE IF NOT EXISTS output (
  key   TEXT    NOT NULL,
  seq   INTEGER NOT NULL,
  value TEXT    NOT NULL,
  PRIMARY KEY (key, seq)
);
CREATE TABLE IF NOT EXISTS offsets (
  topic     TEXT    NOT NULL,
  partition INTEGER NOT NULL,
  next      INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
);`

// OpenSink opens an in-memory SQLite database named name (one per run)
// with the sink's tables. Close it when the run is done.
func OpenSink(name string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(sinkSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the sink tables: %w", err)
	}
	return db, nil
}

// storedOffsets reads the next offset to consume per partition of topic.
func storedOffsets(ctx context.Context, db *sql.DB, topic string) (map[int32]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT partition, next FROM offsets WHERE topic = ?`, topic)
	if err != nil {
		return nil, fmt.Errorf("read stored offsets: %w", err)
	}
	defer rows.Close()
	pos := map[int32]int64{}
	for rows.Next() {
		var part int32
		var next int64
		if err := rows.Scan(&part, &next); err != nil {
			return nil, err
		}
		pos[part] = next
	}
	return pos, rows.Err()
}

// runSink runs IdempotentSink mode: no consumer group; the instance starts
// from the offsets the database holds. One batch:
//
//	poll, AfterConsume, BEGIN, upsert half, MidOutput, upsert rest + offsets, BeforeCommit,
//	COMMIT, AfterCommit
//
// A crash inside the SQL transaction rolls it back (as the database does
// for a client that died), so rows and offsets move together.
func (p *Pipeline) runSink(ctx context.Context, inst *Instance, crash Crash, ends map[int32]int64) error {
	if p.DB == nil {
		return fmt.Errorf("idempotent sink mode needs Pipeline.DB (see OpenSink)")
	}
	pos, err := storedOffsets(ctx, p.DB, p.Input)
	if err != nil {
		return err
	}
	prog := progress{pos: pos, ends: ends}
	start := map[int32]kgo.Offset{}
	for part := range ends {
		start[part] = kgo.NewOffset().At(pos[part])
	}
	cl, err := p.Kafka.Client(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.Input: start}),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	for b := 0; !prog.done(); {
		rs, err := poll(ctx, cl.PollRecords(ctx, p.batch()))
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			continue
		}
		if crash.at(AfterConsume, b) {
			return errCrash
		}
		if err := p.sinkBatch(ctx, rs, crash, b); err != nil {
			return err
		}
		prog.advance(rs)
		inst.Processed += len(rs)
		p.count(len(rs))
		if crash.at(AfterCommit, b) {
			return errCrash
		}
		b++
	}
	return nil
}

// sinkBatch writes one batch and its offsets in one SQL transaction.
func (p *Pipeline) sinkBatch(ctx context.Context, rs []*kgo.Record, crash Crash, b int) error {
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit; the crash paths rely on it
	next := map[int32]int64{}
	for i, r := range rs {
		if i == len(rs)/2 && crash.at(MidOutput, b) {
			return errCrash
		}
		seq, err := parseSeq(r.Value)
		if err != nil {
			return fmt.Errorf("input %s/%d@%d: value %q is not a sequence number", r.Topic, r.Partition, r.Offset, r.Value)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO output (key, seq, value) VALUES (?, ?, ?) ON CONFLICT (key, seq) DO NOTHING`,
			string(r.Key), seq, enrich(string(r.Key), seq)); err != nil {
			return fmt.Errorf("write output row: %w", err)
		}
		next[r.Partition] = max(next[r.Partition], r.Offset+1)
	}
	for part, n := range next {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?)
			 ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next`,
			p.Input, part, n); err != nil {
			return fmt.Errorf("store offsets: %w", err)
		}
	}
	if crash.at(BeforeCommit, b) {
		return errCrash
	}
	return tx.Commit()
}

// SinkReads returns the sink's rows as reads, in insertion order (rowid as
// the offset, one partition).
func SinkReads(ctx context.Context, db *sql.DB) ([]Read, error) {
	rows, err := db.QueryContext(ctx, `SELECT rowid, key, seq FROM output ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Read
	for rows.Next() {
		var r Read
		if err := rows.Scan(&r.Offset, &r.Key, &r.Seq); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

package eos

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/eos/step"

	"github.com/twmb/franz-go/pkg/kgo"
	_ "modernc.org/sqlite" // driver "sqlite"
)

// OpenSink opens an in-memory SQLite database named name (one per run)
// with the sink's tables (step.Schema). Close it when the run is done.
func OpenSink(name string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+name+"?mode=memory&cache=shared&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(step.Schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the sink tables: %w", err)
	}
	return db, nil
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
	sink := p.Rules.sink()
	pos, err := sink.Resume(ctx, p.DB, p.Input)
	if err != nil {
		return fmt.Errorf("resume from the stored offsets: %w", err)
	}
	if pos == nil {
		pos = map[int32]int64{}
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
			return crash.die()
		}
		if err := p.sinkBatch(ctx, sink.Write, rs, crash, b); err != nil {
			return err
		}
		prog.advance(rs)
		inst.Processed += len(rs)
		p.count(len(rs))
		if crash.at(AfterCommit, b) {
			return crash.die()
		}
		b++
	}
	return nil
}

// sinkBatch writes one batch and its offsets in one SQL transaction,
// through write (Rules.Sink.Write). MidOutput writes the first half of the
// batch (with its offsets) and dies inside the transaction; BeforeCommit
// dies after the whole batch was written, before COMMIT. A crash inside
// the transaction rolls it back (as the database does for a client that
// died), so rows and offsets move together.
func (p *Pipeline) sinkBatch(ctx context.Context, write step.WriteFunc, rs []*kgo.Record, crash Crash, b int) error {
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit; the crash paths rely on it
	rows := make([]step.Row, 0, len(rs))
	for _, r := range rs {
		seq, err := parseSeq(r.Value)
		if err != nil {
			return fmt.Errorf("input %s/%d@%d: value %q is not a sequence number", r.Topic, r.Partition, r.Offset, r.Value)
		}
		rows = append(rows, step.Row{Key: string(r.Key), Seq: seq, Value: enrich(string(r.Key), seq)})
	}
	n := len(rs)
	if crash.at(MidOutput, b) {
		n = len(rs) / 2
	}
	next := map[int32]int64{}
	for _, r := range rs[:n] {
		next[r.Partition] = max(next[r.Partition], r.Offset+1)
	}
	if err := write(ctx, tx, p.Input, rows[:n], next); err != nil {
		return fmt.Errorf("sink write: %w", err)
	}
	if crash.at(MidOutput, b) || crash.at(BeforeCommit, b) {
		return crash.die()
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

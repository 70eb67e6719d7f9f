package drill

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/eos"
	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/dsgym/dsgym/pkg/exercise"
	ref "github.com/dsgym/dsgym/solutions/eos"
)

// SinkFuncs is the sink exercise's pair of functions.
type SinkFuncs = step.Sink

var sinkDBs atomic.Int64

// freshSink opens an empty sink database of its own.
func freshSink(t exercise.T) (*sql.DB, bool) {
	db, err := eos.OpenSink(fmt.Sprintf("drill-sink-%d-%d", time.Now().UnixNano(), sinkDBs.Add(1)))
	if err != nil {
		t.Errorf("could not open the sink database: %v", err)
		return nil, false
	}
	return db, true
}

// write runs f.Write in a transaction of its own and commits it.
func write(ctx context.Context, db *sql.DB, f SinkFuncs, topic string, rows []step.Row, next map[int32]int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f.Write(ctx, tx, topic, rows, next); err != nil {
		return err
	}
	return tx.Commit()
}

func outputRows(ctx context.Context, db *sql.DB) ([]step.Row, error) {
	rs, err := db.QueryContext(ctx, `SELECT key, seq, value FROM output ORDER BY key, seq`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []step.Row
	for rs.Next() {
		var r step.Row
		if err := rs.Scan(&r.Key, &r.Seq, &r.Value); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

var (
	batch1 = []step.Row{{Key: "a", Seq: 0, Value: "0|eu-west"}, {Key: "a", Seq: 1, Value: "1|eu-west"}, {Key: "b", Seq: 0, Value: "0|us-east"}}
	next1  = map[int32]int64{0: 2, 1: 1}
	batch2 = []step.Row{{Key: "a", Seq: 2, Value: "2|eu-west"}, {Key: "c", Seq: 0, Value: "0|ap-south"}}
	next2  = map[int32]int64{0: 3, 2: 1}
)

// sinkCheck runs body on a fresh database.
func sinkCheck(name string, hint int, body func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs)) exercise.Check[SinkFuncs] {
	return exercise.Check[SinkFuncs]{Name: name, Hint: hint, Run: func(t exercise.T, f SinkFuncs) {
		db, ok := freshSink(t)
		if !ok {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		body(t, ctx, db, f)
	}}
}

func wantOffsets(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs, topic, after string, want map[int32]int64) bool {
	got, err := f.Resume(ctx, db, topic)
	if err != nil {
		t.Errorf("ResumeOffsets(%q) after %s returned the error %v; want %v", topic, after, err, want)
		return false
	}
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	if !maps.Equal(got, want) {
		t.Errorf("ResumeOffsets(%q) after %s = %v; want %v (the next offset to consume per partition)", topic, after, got, want)
		return false
	}
	return true
}

// WriteBatch is exercise eos/sink (WriteBatch and ResumeOffsets).
var WriteBatch = exercise.Register(&exercise.Exercise[SinkFuncs]{
	ID:       "eos/sink",
	Title:    "The idempotent sink: rows and offsets in one database transaction",
	Task:     "WriteBatch: insert the rows so that a replay is a no-op and upsert each partition's next offset, in the given transaction; ResumeOffsets: read the offsets back",
	Func:     "WriteBatch, ResumeOffsets",
	Notebook: notebook,
	Hints: [3]string{
		"Two tables (step.Schema): output with primary key (key, seq), offsets with primary key (topic, partition). Everything WriteBatch does goes through tx, so the pipeline's COMMIT makes rows and offsets durable together.",
		"A replay must not fail and must not add rows: INSERT ... ON CONFLICT (key, seq) DO NOTHING. An offset row must be created the first time and replaced afterwards: INSERT ... ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next. Store what the pipeline gives you (the offset after the batch), and read back only your topic's rows.",
		"for each row: tx.ExecContext(ctx, `INSERT INTO output (key, seq, value) VALUES (?, ?, ?) ON CONFLICT (key, seq) DO NOTHING`, ...); for part, n := range next: tx.ExecContext(ctx, `INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next`, topic, part, n). ResumeOffsets: SELECT partition, next FROM offsets WHERE topic = ?, scanned into a map.",
	},
	Reference: step.Sink{Write: ref.WriteBatch, Resume: ref.ResumeOffsets},
	Probe: func(f SinkFuncs) {
		db, err := eos.OpenSink(fmt.Sprintf("drill-probe-%d", sinkDBs.Add(1)))
		if err != nil {
			return
		}
		defer db.Close()
		_ = write(context.Background(), db, f, "in", batch1, next1)
		_, _ = f.Resume(context.Background(), db, "in")
	},
	Checks: []exercise.Check[SinkFuncs]{
		sinkCheck("a fresh database resumes from the start: no offsets, no error", 1, func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs) {
			wantOffsets(t, ctx, db, f, "in", "nothing was written", nil)
		}),
		sinkCheck("a committed batch leaves its rows, and its next offsets are read back", 1, func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs) {
			if err := write(ctx, db, f, "in", batch1, next1); err != nil {
				t.Errorf("WriteBatch(%v, next %v) returned the error %v", batch1, next1, err)
				return
			}
			rows, err := outputRows(ctx, db)
			if err != nil || fmt.Sprint(rows) != fmt.Sprint(batch1) {
				t.Errorf("after WriteBatch(%v) the output table holds %v (%v); want exactly those rows", batch1, rows, err)
				return
			}
			wantOffsets(t, ctx, db, f, "in", fmt.Sprintf("WriteBatch with next %v", next1), next1)
		}),
		sinkCheck("writing the same batch again (a replay) is a no-op, not an error", 2, func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs) {
			for i := range 2 {
				if err := write(ctx, db, f, "in", batch1, next1); err != nil {
					t.Errorf("WriteBatch of the same batch, time %d, returned the error %v; a replayed batch must be a no-op", i+1, err)
					return
				}
			}
			rows, err := outputRows(ctx, db)
			if err != nil || len(rows) != len(batch1) {
				t.Errorf("after writing the same %d rows twice the output table holds %d rows (%v); want %d", len(batch1), len(rows), err, len(batch1))
			}
		}),
		sinkCheck("each batch replaces the stored offsets of its partitions and leaves the others", 2, func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs) {
			for _, b := range []struct {
				rows []step.Row
				next map[int32]int64
			}{{batch1, next1}, {batch2, next2}} {
				if err := write(ctx, db, f, "in", b.rows, b.next); err != nil {
					t.Errorf("WriteBatch(next %v) returned the error %v", b.next, err)
					return
				}
			}
			wantOffsets(t, ctx, db, f, "in", fmt.Sprintf("two batches with next %v then %v", next1, next2), map[int32]int64{0: 3, 1: 1, 2: 1})
		}),
		sinkCheck("offsets are kept per input topic", 3, func(t exercise.T, ctx context.Context, db *sql.DB, f SinkFuncs) {
			if err := write(ctx, db, f, "in", batch1, next1); err != nil {
				t.Errorf("WriteBatch returned the error %v", err)
				return
			}
			if err := write(ctx, db, f, "other", batch2, map[int32]int64{0: 40}); err != nil {
				t.Errorf("WriteBatch returned the error %v", err)
				return
			}
			if wantOffsets(t, ctx, db, f, "in", `batches from topics "in" and "other"`, next1) {
				wantOffsets(t, ctx, db, f, "other", `batches from topics "in" and "other"`, map[int32]int64{0: 40})
			}
		}),
		{Name: fmt.Sprintf("on kfake, crashed at each of 4 points over %d seeds, the database holds every input exactly once", txnSeeds), Hint: 3, Run: func(t exercise.T, f SinkFuncs) {
			crashRuns(t, eos.IdempotentSink, eos.Rules{Sink: f})
		}},
	},
	Timeout: time.Minute,
})

package drill

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/dsgym/dsgym/pkg/eos/history"
	"github.com/dsgym/dsgym/pkg/eos/step"
	ref "github.com/dsgym/dsgym/solutions/eos"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("eos/check", func(t *testing.T) { Check.Passes(t, ref.Check) })
	t.Run("eos/txn", func(t *testing.T) { TxnBatch.Passes(t, ref.TxnBatch) })
	t.Run("eos/sink", func(t *testing.T) { WriteBatch.Passes(t, WriteBatch.Reference) })
}

func TestCheckChecksCatchKnownBadCheckers(t *testing.T) {
	recordedRuns := Check.Checks[len(Check.Checks)-1].Name
	tests := []struct {
		name   string
		bad    CheckFunc
		checks []string
	}{
		{"missing aborted reads (ignores the aborted writers)", func(h history.History) history.Report {
			h.Aborted = nil
			return ref.Check(h)
		}, []string{"a record written by an aborted transaction is an aborted read, even when it is also a duplicate", recordedRuns}},
		{"dedupes by key alone, forgetting the seq", func(h history.History) history.Report {
			r := ref.Check(h)
			seen := map[string]bool{}
			r.Duplicated = 0
			for _, rd := range h.Reads {
				if seen[rd.Key] {
					r.Duplicated++
				}
				seen[rd.Key] = true
			}
			return r
		}, []string{"a clean history is exactly-once: every count 0", recordedRuns}},
		{"counts a re-read duplicate as reordered too", func(h history.History) history.Report {
			r := ref.Check(h)
			r.Reordered += r.Duplicated
			return r
		}, []string{"a reprocessed batch counts as duplicates, not as reordering (at-least-once)", recordedRuns}},
		{"never reports a loss (looks at reads only)", func(h history.History) history.Report {
			r := ref.Check(h)
			r.Lost = 0
			return r
		}, []string{"an input never read is lost (at-most-once)", recordedRuns}},
		{"ignores offsets", func(h history.History) history.Report {
			r := ref.Check(h)
			r.NonMonotonic = 0
			return r
		}, []string{"an offset that does not grow within a partition is non-monotonic"}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { Check.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestTxnChecksCatchKnownBadSteps(t *testing.T) {
	crash := TxnBatch.Checks[len(TxnBatch.Checks)-1].Name
	tests := []struct {
		name   string
		bad    TxnFunc
		checks []string
	}{
		{"commits the offsets outside the transaction, before End", func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
			if err := s.Begin(); err != nil {
				return step.Retry, err
			}
			if err := s.Produce(ctx, out...); err != nil {
				return step.Retry, err
			}
			if err := s.CommitOffsets(ctx); err != nil {
				return step.Retry, err
			}
			ok, err := s.End(ctx, kgo.TryCommit)
			if err != nil || !ok {
				return step.Retry, err
			}
			return step.Committed, nil
		}, []string{"offsets are never committed outside the transaction", crash}},
		{"retries after PRODUCER_FENCED", func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
			var err error
			for range 3 {
				var o step.Outcome
				if o, err = ref.TxnBatch(ctx, s, out); err == nil {
					return o, nil
				}
			}
			return step.Retry, err
		}, []string{"a fenced producer stops at once: an error, and no call after the fencing"}},
		{"reports committed although End aborted", func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
			if _, err := ref.TxnBatch(ctx, s, out); err != nil {
				return step.Retry, err
			}
			return step.Committed, nil
		}, []string{"a transaction End did not commit (a rebalance) is a retry, never committed", "a failed produce aborts the transaction and asks for a retry"}},
		{"commits after a failed produce", func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
			if err := s.Begin(); err != nil {
				return step.Retry, err
			}
			_ = s.Produce(ctx, out...)
			ok, err := s.End(ctx, kgo.TryCommit)
			if err != nil || !ok {
				return step.Retry, err
			}
			return step.Committed, nil
		}, []string{"a failed produce aborts the transaction and asks for a retry"}},
		{"swallows every error as a retry", func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
			o, _ := ref.TxnBatch(ctx, s, out)
			return o, nil
		}, []string{"a fenced producer stops at once: an error, and no call after the fencing", "an error from Begin or End stops the instance with that error"}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { TxnBatch.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestSinkChecksCatchKnownBadSinks(t *testing.T) {
	crash := WriteBatch.Checks[len(WriteBatch.Checks)-1].Name
	plainInsert := func(ctx context.Context, tx *sql.Tx, topic string, rows []step.Row, next map[int32]int64) error {
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO output (key, seq, value) VALUES (?, ?, ?)`, r.Key, r.Seq, r.Value); err != nil {
				return err
			}
		}
		return ref.WriteBatch(ctx, tx, topic, nil, next)
	}
	lastNotNext := func(ctx context.Context, tx *sql.Tx, topic string, rows []step.Row, next map[int32]int64) error {
		last := map[int32]int64{}
		for p, n := range next {
			last[p] = n - 1
		}
		return ref.WriteBatch(ctx, tx, topic, rows, last)
	}
	insertOnce := func(ctx context.Context, tx *sql.Tx, topic string, rows []step.Row, next map[int32]int64) error {
		if err := ref.WriteBatch(ctx, tx, topic, rows, nil); err != nil {
			return err
		}
		for p, n := range next {
			if _, err := tx.ExecContext(ctx, `INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, topic, p, n); err != nil {
				return err
			}
		}
		return nil
	}
	noOffsets := func(ctx context.Context, tx *sql.Tx, topic string, rows []step.Row, next map[int32]int64) error {
		return ref.WriteBatch(ctx, tx, topic, rows, nil)
	}
	everyTopic := func(ctx context.Context, db *sql.DB, topic string) (map[int32]int64, error) {
		rows, err := db.QueryContext(ctx, `SELECT partition, next FROM offsets`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		pos := map[int32]int64{}
		for rows.Next() {
			var p int32
			var n int64
			if err := rows.Scan(&p, &n); err != nil {
				return nil, err
			}
			pos[p] = max(pos[p], n)
		}
		return pos, rows.Err()
	}
	tests := []struct {
		name   string
		bad    SinkFuncs
		checks []string
	}{
		{"plain INSERT: a replay fails on the unique key", SinkFuncs{Write: plainInsert, Resume: ref.ResumeOffsets}, []string{"writing the same batch again (a replay) is a no-op, not an error"}},
		{"stores the last offset instead of the next one", SinkFuncs{Write: lastNotNext, Resume: ref.ResumeOffsets}, []string{"a committed batch leaves its rows, and its next offsets are read back"}},
		{"never updates an offset once stored", SinkFuncs{Write: insertOnce, Resume: ref.ResumeOffsets}, []string{"each batch replaces the stored offsets of its partitions and leaves the others"}},
		{"stores no offsets (resumes from the start, replaying everything)", SinkFuncs{Write: noOffsets, Resume: ref.ResumeOffsets}, []string{"a committed batch leaves its rows, and its next offsets are read back"}},
		{"reads the offsets of every topic", SinkFuncs{Write: ref.WriteBatch, Resume: everyTopic}, []string{"offsets are kept per input topic"}},
		{"resumes from nothing (ignores the stored offsets)", SinkFuncs{Write: plainInsert, Resume: func(context.Context, *sql.DB, string) (map[int32]int64, error) { return nil, nil }},
			[]string{"a committed batch leaves its rows, and its next offsets are read back", crash}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { WriteBatch.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func ExampleCheck() {
	h := history.History{
		Inputs: []history.Input{{Key: "a", Seq: 0}, {Key: "a", Seq: 1}},
		Reads:  []history.Read{{Partition: 0, Offset: 0, Key: "a", Seq: 0}, {Partition: 0, Offset: 1, Key: "a", Seq: 0}},
	}
	fmt.Println(ref.Check(h))
	// Output: 2 inputs, 2 reads: 1 lost, 1 duplicated, 0 aborted reads, 0 non-monotonic, 0 reordered, 0 unexpected
}

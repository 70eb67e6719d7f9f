package drill

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/outbox"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
)

// WriteFunc is WriteOrder's signature.
type WriteFunc = step.WriteFunc

// rec is input record offset off of partition 0 with value v, written
// in pass pass (its event id).
func rec(off int64, v string, pass int) step.Write {
	return step.Write{Topic: "orders", Partition: 0, Offset: off, Value: []byte(v),
		EventID: fmt.Sprintf("e%d-%d", off, pass), TraceID: fmt.Sprintf("t%d-%d", off, pass),
		Now: time.Unix(1_800_000_000, 0)}
}

const order7 = `{"order":"o7","customer":"c01","amount":250}`

// writeOnce runs f on w in its own transaction.
func writeOnce(db *sql.DB, f WriteFunc, w step.Write) (bool, error) {
	var applied bool
	err := inTx(db, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		applied, err = f(ctx, tx, w)
		return err
	})
	return applied, err
}

type tables struct{ inbox, orders, outbox, rejected int }

func counts4(db *sql.DB) tables {
	return tables{count(db, "inbox"), count(db, "orders"), count(db, "outbox"), count(db, "rejected")}
}

func wantTables(t exercise.T, what string, got, want tables) bool {
	t.Helper()
	if got != want {
		t.Errorf("%s: rows in inbox, orders, outbox, rejected = %d, %d, %d, %d; want %d, %d, %d, %d",
			what, got.inbox, got.orders, got.outbox, got.rejected, want.inbox, want.orders, want.outbox, want.rejected)
		return false
	}
	return true
}

func writeCheck(name string, hint int, run func(t exercise.T, db *sql.DB, f WriteFunc)) exercise.Check[WriteFunc] {
	return exercise.Check[WriteFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f WriteFunc) {
		d, db, ok := fresh(t)
		if !ok {
			return
		}
		defer d.Close()
		defer db.Close()
		run(t, db, f)
	}}
}

// WriteOrder is exercise outbox/write.
var WriteOrder = exercise.Register(&exercise.Exercise[WriteFunc]{
	ID:       "outbox/write",
	Title:    "Business row, outbox row and inbox row in one transaction",
	Task:     "write one input record's inbox row, its enriched order row and its outbox event inside the caller's transaction, and do nothing for a record seen before",
	Func:     "WriteOrder",
	Notebook: notebook,
	Hints: [3]string{
		"Everything happens in tx, which the ingest commits after the whole batch: a crash anywhere leaves all of a batch's rows or none. The inbox is what makes a replay harmless, so it comes first.",
		`INSERT INTO inbox (topic, partition, "offset") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING, then RowsAffected: 0 means this record was processed before, so return false at once. A malformed record or an unknown customer goes to step.Reject and counts as applied (an error would roll the batch back forever).`,
		"After the inbox: o, err := step.ParseOrder(w.Value); SELECT name, region FROM customers WHERE id = $1 (sql.ErrNoRows: reject); INSERT INTO orders (id, customer_id, amount, region, event_id) ... ON CONFLICT (id) DO UPDATE SET applied = orders.applied + 1, event_id = excluded.event_id; then step.InsertEvent(ctx, tx, w, step.Event{...}).",
	},
	Reference: ref.WriteOrder,
	Checks: []exercise.Check[WriteFunc]{
		writeCheck("a new order writes one inbox row, one order row and one outbox row, and is applied", 1, func(t exercise.T, db *sql.DB, f WriteFunc) {
			applied, err := writeOnce(db, f, rec(0, order7, 1))
			if err != nil {
				t.Errorf("WriteOrder(%s) returned error %v; want nil", order7, err)
				return
			}
			if !applied {
				t.Errorf("WriteOrder(%s) returned applied=false; want true", order7)
			}
			wantTables(t, "after one new order", counts4(db), tables{1, 1, 1, 0})
		}),
		writeCheck("the same input position a second time is not applied and writes nothing more", 2, func(t exercise.T, db *sql.DB, f WriteFunc) {
			if _, err := writeOnce(db, f, rec(0, order7, 1)); err != nil {
				t.Errorf("first write: %v", err)
				return
			}
			applied, err := writeOnce(db, f, rec(0, order7, 2))
			if err != nil {
				t.Errorf("second write of offset 0: error %v; want nil", err)
				return
			}
			if applied {
				t.Errorf("second write of offset 0 returned applied=true; want false (the inbox has it)")
			}
			if !wantTables(t, "after the same record twice", counts4(db), tables{1, 1, 1, 0}) {
				return
			}
			var n int
			_ = db.QueryRow("SELECT applied FROM orders WHERE id = 'o7'").Scan(&n)
			if n != 1 {
				t.Errorf("orders.applied for o7 = %d; want 1", n)
			}
		}),
		writeCheck("the order row carries its customer's region and this pass's event id, and the outbox row the enriched event", 2, func(t exercise.T, db *sql.DB, f WriteFunc) {
			if _, err := writeOnce(db, f, rec(3, order7, 1)); err != nil {
				t.Errorf("WriteOrder: %v", err)
				return
			}
			var region, event, agg, payload string
			if err := db.QueryRow("SELECT region, event_id FROM orders WHERE id = 'o7'").Scan(&region, &event); err != nil {
				t.Errorf("reading order o7: %v", err)
				return
			}
			if region != "us" || event != "e3-1" {
				t.Errorf("order o7 has region %q, event_id %q; want \"us\" (customer c01), \"e3-1\" (w.EventID)", region, event)
				return
			}
			if err := db.QueryRow("SELECT aggregateid, payload FROM outbox WHERE id = 'e3-1'").Scan(&agg, &payload); err != nil {
				t.Errorf("reading the outbox row with id e3-1 (w.EventID): %v", err)
				return
			}
			want := `{"order":"o7","customer":"c01","amount":250,"region":"us","name":"Customer 1"}`
			if agg != "c01" || payload != want {
				t.Errorf("outbox row: aggregateid %q, payload %s; want \"c01\", %s (use step.InsertEvent)", agg, payload, want)
			}
		}),
		writeCheck("a malformed record is rejected, counts as applied, and writes no order and no event", 2, func(t exercise.T, db *sql.DB, f WriteFunc) {
			bad := `{"order": "o8", "amount": `
			applied, err := writeOnce(db, f, rec(1, bad, 1))
			if err != nil {
				t.Errorf("WriteOrder(%s) returned error %v; want nil (reject it: an error would stop the pipeline on this record forever)", bad, err)
				return
			}
			if !applied {
				t.Errorf("WriteOrder(%s) returned applied=false; want true", bad)
			}
			wantTables(t, "after a malformed record", counts4(db), tables{1, 0, 0, 1})
		}),
		writeCheck("an order for an unknown customer is rejected the same way", 2, func(t exercise.T, db *sql.DB, f WriteFunc) {
			unknown := `{"order":"o9","customer":"c99","amount":5}`
			if _, err := writeOnce(db, f, rec(2, unknown, 1)); err != nil {
				t.Errorf("WriteOrder(%s) returned error %v; want nil", unknown, err)
				return
			}
			wantTables(t, "after an order for customer c99 (not in customers)", counts4(db), tables{1, 0, 0, 1})
		}),
		{Name: "on kfake and SQLite, crashed between the database commit and the offset commit, every order takes effect exactly once", Hint: 3, Run: func(t exercise.T, f WriteFunc) {
			for _, pass := range []int{1, 3} {
				pipeline(t, outbox.Config{Write: f, Orders: 120, Crash: outbox.Crash{At: outbox.IngestBeforeOffsets, After: pass}, Seed: uint64(pass)})
			}
		}},
	},
	Timeout: 30 * time.Second,
})

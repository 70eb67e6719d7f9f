package drill

import (
	"context"
	"database/sql"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/outbox"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
)

// ApplyFunc is ApplyOnce's signature.
type ApplyFunc = step.ApplyFunc

func applyOnce(db *sql.DB, f ApplyFunc, id string, e step.Event) (bool, error) {
	var applied bool
	err := inTx(db, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		applied, err = f(ctx, tx, id, e)
		return err
	})
	return applied, err
}

func totals(db *sql.DB, customer string) (orders, amount int64) {
	_ = db.QueryRow("SELECT orders, amount FROM downstream_totals WHERE customer_id = $1", customer).Scan(&orders, &amount)
	return orders, amount
}

var (
	ev1 = step.Event{Order: "o1", Customer: "c02", Amount: 40, Region: "ap", Name: "Customer 2"}
	ev2 = step.Event{Order: "o2", Customer: "c02", Amount: 2, Region: "ap", Name: "Customer 2"}
)

func applyCheck(name string, hint int, run func(t exercise.T, db *sql.DB, f ApplyFunc)) exercise.Check[ApplyFunc] {
	return exercise.Check[ApplyFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f ApplyFunc) {
		d, db, ok := fresh(t)
		if !ok {
			return
		}
		defer d.Close()
		defer db.Close()
		run(t, db, f)
	}}
}

// ApplyOnce is exercise outbox/apply.
var ApplyOnce = exercise.Register(&exercise.Exercise[ApplyFunc]{
	ID:       "outbox/apply",
	Title:    "The downstream's idempotent consumer",
	Task:     "apply an output event's effect at most once per event id, however often the topic carries it",
	Func:     "ApplyOnce",
	Notebook: notebook,
	Hints: [3]string{
		"The topic is at-least-once: a relay that crashed after the broker's acknowledgement publishes the same event again, with the same id header. Remember the ids already applied, in the same transaction as the effect.",
		"INSERT INTO downstream_inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING; RowsAffected 0 means a duplicate: return false and do nothing else. Key on the event id, not on the customer or the order's position in a batch.",
		"res, err := tx.ExecContext(ctx, \"INSERT INTO downstream_inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING\", eventID); if n, _ := res.RowsAffected(); n == 0 { return false, nil }; return true, step.ApplyEffect(ctx, tx, eventID, e).",
	},
	Reference: ref.ApplyOnce,
	Checks: []exercise.Check[ApplyFunc]{
		applyCheck("a new event takes effect once and is applied", 1, func(t exercise.T, db *sql.DB, f ApplyFunc) {
			applied, err := applyOnce(db, f, "e1", ev1)
			if err != nil || !applied {
				t.Errorf("ApplyOnce(e1) = %v, %v; want true, nil", applied, err)
				return
			}
			if n, a := totals(db, "c02"); n != 1 || a != 40 {
				t.Errorf("after e1, c02's totals are %d orders, amount %d; want 1, 40 (use step.ApplyEffect)", n, a)
			}
		}),
		applyCheck("the same event id again changes nothing and is a duplicate", 2, func(t exercise.T, db *sql.DB, f ApplyFunc) {
			if _, err := applyOnce(db, f, "e1", ev1); err != nil {
				t.Errorf("first ApplyOnce(e1): %v", err)
				return
			}
			applied, err := applyOnce(db, f, "e1", ev1)
			if err != nil || applied {
				t.Errorf("ApplyOnce(e1) a second time = %v, %v; want false, nil", applied, err)
				return
			}
			if n, a := totals(db, "c02"); n != 1 || a != 40 {
				t.Errorf("after e1 twice, c02's totals are %d orders, amount %d; want 1, 40", n, a)
			}
		}),
		applyCheck("two events of the same customer both take effect", 2, func(t exercise.T, db *sql.DB, f ApplyFunc) {
			for _, x := range []struct {
				id string
				e  step.Event
			}{{"e1", ev1}, {"e2", ev2}} {
				if applied, err := applyOnce(db, f, x.id, x.e); err != nil || !applied {
					t.Errorf("ApplyOnce(%s) = %v, %v; want true, nil", x.id, applied, err)
					return
				}
			}
			if n, a := totals(db, "c02"); n != 2 || a != 42 {
				t.Errorf("after e1 and e2, c02's totals are %d orders, amount %d; want 2, 42", n, a)
			}
		}),
		applyCheck("a duplicate inside one transaction is caught too", 2, func(t exercise.T, db *sql.DB, f ApplyFunc) {
			var second bool
			err := inTx(db, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := f(ctx, tx, "e1", ev1); err != nil {
					return err
				}
				var err error
				second, err = f(ctx, tx, "e1", ev1)
				return err
			})
			if err != nil || second {
				t.Errorf("ApplyOnce(e1) twice in one batch: second returned %v, %v; want false, nil", second, err)
				return
			}
			if n, _ := totals(db, "c02"); n != 1 {
				t.Errorf("c02's totals count %d orders; want 1", n)
			}
		}),
		{Name: "on kfake and SQLite, with the relay crashing after the broker's ack (duplicates on the topic), every order takes effect downstream exactly once", Hint: 3, Run: func(t exercise.T, f ApplyFunc) {
			for _, pass := range []int{1, 2} {
				pipeline(t, outbox.Config{Apply: f, Orders: 120, Crash: outbox.Crash{At: outbox.RelayBeforeConfirm, After: pass}, Seed: uint64(10 + pass)})
			}
		}},
	},
	Timeout: 30 * time.Second,
})

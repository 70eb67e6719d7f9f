package drill

import (
	"context"
	"database/sql"
	"testing"

	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("outbox/write", func(t *testing.T) { WriteOrder.Passes(t, ref.WriteOrder) })
	t.Run("outbox/apply", func(t *testing.T) { ApplyOnce.Passes(t, ref.ApplyOnce) })
	t.Run("outbox/confirm", func(t *testing.T) { Confirm.Passes(t, ref.Confirm) })
}

func TestWriteChecksCatchKnownBadWrites(t *testing.T) {
	twice := "the same input position a second time is not applied and writes nothing more"
	e2e := WriteOrder.Checks[len(WriteOrder.Checks)-1].Name
	for _, c := range []struct {
		name   string
		bad    WriteFunc
		checks []string
	}{
		{"keeps no inbox", func(ctx context.Context, tx *sql.Tx, w step.Write) (bool, error) {
			ok, err := ref.WriteOrder(ctx, tx, w)
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM inbox`)
			}
			return ok, err
		}, []string{twice, e2e}},
		{"writes the order before it looks at the inbox", func(ctx context.Context, tx *sql.Tx, w step.Write) (bool, error) {
			o, err := step.ParseOrder(w.Value)
			if err == nil {
				if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, customer_id, amount, region, event_id) VALUES ($1, $2, $3, 'us', $4)
					ON CONFLICT (id) DO UPDATE SET applied = orders.applied + 1`, o.ID, o.Customer, o.Amount, w.EventID); err != nil {
					return false, err
				}
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO inbox (topic, partition, "offset") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, w.Topic, w.Partition, w.Offset)
			if err != nil {
				return false, err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return false, nil
			}
			if err != nil {
				return true, step.Reject(ctx, tx, w, err.Error())
			}
			return true, step.InsertEvent(ctx, tx, w, step.Event{Order: o.ID, Customer: o.Customer, Amount: o.Amount, Region: "us"})
		}, []string{twice}},
		{"returns an error for a malformed record", func(ctx context.Context, tx *sql.Tx, w step.Write) (bool, error) {
			if _, err := step.ParseOrder(w.Value); err != nil {
				return false, err
			}
			return ref.WriteOrder(ctx, tx, w)
		}, []string{"a malformed record is rejected, counts as applied, and writes no order and no event"}},
		{"skips the enrichment", func(ctx context.Context, tx *sql.Tx, w step.Write) (bool, error) {
			ok, err := ref.WriteOrder(ctx, tx, w)
			if err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE orders SET region = ''`)
			}
			return ok, err
		}, []string{"the order row carries its customer's region and this pass's event id, and the outbox row the enriched event", e2e}},
	} {
		t.Run(c.name, func(t *testing.T) { WriteOrder.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestApplyChecksCatchKnownBadApplies(t *testing.T) {
	e2e := ApplyOnce.Checks[len(ApplyOnce.Checks)-1].Name
	for _, c := range []struct {
		name   string
		bad    ApplyFunc
		checks []string
	}{
		{"keeps no inbox", func(ctx context.Context, tx *sql.Tx, id string, e step.Event) (bool, error) {
			return true, step.ApplyEffect(ctx, tx, id, e)
		}, []string{"the same event id again changes nothing and is a duplicate", "a duplicate inside one transaction is caught too", e2e}},
		{"keys its inbox on the customer", func(ctx context.Context, tx *sql.Tx, id string, e step.Event) (bool, error) {
			return ref.ApplyOnce(ctx, tx, e.Customer, e)
		}, []string{"two events of the same customer both take effect", e2e}},
		{"applies first and records the id after, ignoring the conflict", func(ctx context.Context, tx *sql.Tx, id string, e step.Event) (bool, error) {
			if err := step.ApplyEffect(ctx, tx, id, e); err != nil {
				return false, err
			}
			res, err := tx.ExecContext(ctx, "INSERT INTO downstream_inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING", id)
			if err != nil {
				return false, err
			}
			n, _ := res.RowsAffected()
			return n == 1, nil
		}, []string{"the same event id again changes nothing and is a duplicate"}},
	} {
		t.Run(c.name, func(t *testing.T) { ApplyOnce.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestConfirmChecksCatchKnownBadConfirms(t *testing.T) {
	sim := Confirm.Checks[len(Confirm.Checks)-1].Name
	for _, c := range []struct {
		name   string
		bad    ConfirmFunc
		checks []string
	}{
		{"confirms the highest acknowledged end, skipping one not acknowledged", func(confirmed uint64, in []step.InFlight) uint64 {
			pos := confirmed
			for _, t := range in {
				if t.Acked {
					pos = max(pos, t.End)
				}
			}
			return pos
		}, []string{"stop at the first transaction not acknowledged", sim}},
		{"confirms the last transaction received (the WAL end a keepalive reports)", func(confirmed uint64, in []step.InFlight) uint64 {
			if len(in) == 0 {
				return confirmed
			}
			return max(confirmed, in[len(in)-1].End)
		}, []string{"the first one not acknowledged: confirm nothing new, however many after it are", sim}},
		{"returns 0 when nothing new is acknowledged (the zero flush position)", func(confirmed uint64, in []step.InFlight) uint64 {
			pos := ref.Confirm(confirmed, in)
			if pos == confirmed {
				return 0
			}
			return pos
		}, []string{"with nothing in flight, the confirmed position stays", sim}},
		{"forgets the confirmed position", func(_ uint64, in []step.InFlight) uint64 {
			return ref.Confirm(0, in)
		}, []string{"never go back, even for an acknowledged transaction that ends before the confirmed position"}},
	} {
		t.Run(c.name, func(t *testing.T) { Confirm.Catches(t, c.name, c.bad, c.checks...) })
	}
}

package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dsgym/dsgym/pkg/outbox/step"
)

// WriteOrder writes one input record inside tx, the caller's transaction:
//
//  1. the inbox row first, INSERT ... ON CONFLICT DO NOTHING on the
//     record's topic, partition and offset; no row inserted means the
//     record was processed before: return false and change nothing else;
//  2. parse the order (step.ParseOrder): a malformed one is rejected
//     (step.Reject) and counts as applied;
//  3. enrich it: the customer's name and region from customers (an
//     unknown customer is rejected the same way);
//  4. upsert the order row (ON CONFLICT (id) DO UPDATE adds 1 to
//     applied, so that a second write shows) with w.EventID in event_id;
//  5. insert the outbox row (step.InsertEvent).
//
// Because all of it commits or rolls back together, a crash anywhere
// leaves either the whole effect or none, and the inbox makes a replay
// of a committed batch a no-op.
//
//dsgym:exercise outbox/write
func WriteOrder(ctx context.Context, tx *sql.Tx, w step.Write) (bool, error) {
	//dsgym:solution
	res, err := tx.ExecContext(ctx, `INSERT INTO inbox (topic, partition, "offset") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, w.Topic, w.Partition, w.Offset)
	if err != nil {
		return false, fmt.Errorf("inbox: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // seen before
	}
	o, err := step.ParseOrder(w.Value)
	if err != nil {
		return true, step.Reject(ctx, tx, w, err.Error())
	}
	var name, region string
	switch err := tx.QueryRowContext(ctx, "SELECT name, region FROM customers WHERE id = $1", o.Customer).Scan(&name, &region); {
	case errors.Is(err, sql.ErrNoRows):
		return true, step.Reject(ctx, tx, w, fmt.Sprintf("order %s: unknown customer %q", o.ID, o.Customer))
	case err != nil:
		return false, fmt.Errorf("enrich: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, customer_id, amount, region, event_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET applied = orders.applied + 1, event_id = excluded.event_id`,
		o.ID, o.Customer, o.Amount, region, w.EventID); err != nil {
		return false, fmt.Errorf("order: %w", err)
	}
	return true, step.InsertEvent(ctx, tx, w, step.Event{Order: o.ID, Customer: o.Customer, Amount: o.Amount, Region: region, Name: name})
	//dsgym:stub
	// panic("not implemented yet: WriteOrder: insert the inbox row (stop if it was there), then the enriched order row and the outbox row, all in tx")
	//dsgym:end
}

// Package step declares the pieces of the outbox pipeline (package
// outbox, notebook 09) that decide whether it is exactly-once, as types a
// learner implements:
//
//   - WriteFunc, the ingest's write: an input record's inbox row, its
//     enriched business row and its outbox row, in the caller's
//     database transaction (exercise outbox/write);
//   - ApplyFunc, the downstream consumer's idempotent apply (exercise
//     outbox/apply);
//   - ConfirmFunc, the log-based relay's choice of the position to
//     confirm to the replication slot (exercise outbox/confirm).
//
// It also holds the helpers those pieces share: the order and event
// types, rejecting a record, inserting an outbox row and the downstream
// effect. The reference versions are in solutions/outbox.
package step

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Order is one input record: an order placed by a customer. It is keyed
// by customer on the input topic, so one customer's orders are in one
// partition, in the order they were placed.
type Order struct {
	ID       string `json:"order"`
	Customer string `json:"customer"`
	Amount   int64  `json:"amount"`
	// Partition and Offset are where the order was written.
	Partition int32 `json:"-"`
	Offset    int64 `json:"-"`
}

// Event is the payload of one outbox row and of the output record the
// relay publishes: the order enriched with its customer's region and
// name.
type Event struct {
	Order    string `json:"order"`
	Customer string `json:"customer"`
	Amount   int64  `json:"amount"`
	Region   string `json:"region"`
	Name     string `json:"name"`
}

// ParseOrder decodes an input record's value, and refuses an order
// without an id or a customer, or with an amount that is not positive.
func ParseOrder(v []byte) (Order, error) {
	var o Order
	if err := json.Unmarshal(v, &o); err != nil {
		return o, fmt.Errorf("not an order: %v", err)
	}
	switch {
	case o.ID == "":
		return o, fmt.Errorf("not an order: no order id")
	case o.Customer == "":
		return o, fmt.Errorf("order %s: no customer", o.ID)
	case o.Amount <= 0:
		return o, fmt.Errorf("order %s: amount %d is not positive", o.ID, o.Amount)
	}
	return o, nil
}

// Purge is how outbox rows go away once they are published.
type Purge string

// The purge strategies.
const (
	// KeepRows leaves published rows in place (marked, for the polling
	// relay). The table grows until something else deletes them.
	KeepRows Purge = "keep"
	// DeleteWhenPublished deletes rows in the polling relay's own
	// transaction, once the broker acknowledged them.
	DeleteWhenPublished Purge = "delete when published"
	// DeleteAfterInsert deletes each outbox row in the same transaction
	// that inserted it. The table stays empty, and log-based CDC still
	// sees the insert in the WAL (Quarkus' outbox extension does this by
	// default, remove-after-insert=true). Only the log-based relay can
	// work this way: a poller would find nothing.
	DeleteAfterInsert Purge = "delete after insert"
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
	// Postgres is true on PostgreSQL, false on SQLite. Statements with
	// $1, $2... placeholders and ON CONFLICT work on both.
	Postgres bool
}

// WriteFunc writes one input record's effects inside tx: the inbox row
// (table inbox, key topic, partition, "offset"), the enriched business
// row (table orders) and the outbox row (InsertEvent). It reports whether
// it applied the record (false: the inbox already had it, and nothing
// else may change). A malformed record, or one whose customer is
// unknown, is written to the rejected table (Reject) and reported
// applied, not returned as an error: an error rolls the batch back, and a
// record that can never be processed would then stop the pipeline.
type WriteFunc func(ctx context.Context, tx *sql.Tx, w Write) (applied bool, err error)

// ApplyFunc applies one output event downstream inside tx, at most once
// per event id however often the topic carries it, and reports whether
// it applied it (false: a duplicate). The effect itself is ApplyEffect.
type ApplyFunc func(ctx context.Context, tx *sql.Tx, eventID string, e Event) (bool, error)

// Reject records a record that cannot be processed, with the reason, in
// the rejected table, so that nothing is silently dropped.
func Reject(ctx context.Context, tx *sql.Tx, w Write, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rejected (topic, partition, "offset", reason, value) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		w.Topic, w.Partition, w.Offset, reason, string(w.Value))
	return err
}

// InsertEvent inserts the outbox row for e with w's event and trace ids
// (and deletes it at once with DeleteAfterInsert).
func InsertEvent(ctx context.Context, tx *sql.Tx, w Write, e Event) error {
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

// ApplyEffect is the downstream effect of one event: the customer's
// totals (orders, amount, last order) and a line in the applied log. It is
// not idempotent (a second call counts the order twice): that is what an
// ApplyFunc guards.
func ApplyEffect(ctx context.Context, tx *sql.Tx, eventID string, e Event) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO downstream_totals (customer_id, orders, amount, last_order) VALUES ($1, 1, $2, $3)
		ON CONFLICT (customer_id) DO UPDATE SET orders = downstream_totals.orders + 1, amount = downstream_totals.amount + excluded.amount, last_order = excluded.last_order`,
		e.Customer, e.Amount, e.Order); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO downstream_applied (event_id, customer_id) VALUES ($1, $2)", eventID, e.Customer)
	return err
}

package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Complete stores resp as the result of key, in tx, if the row still holds
// lease; otherwise it returns [ErrLeaseLost] and the caller must roll tx
// back. Committing tx then makes the side effects done in tx and the stored
// response visible together, or neither.
func (s *Store) Complete(ctx context.Context, tx *Tx, key, lease string, resp dedupe.Response) error {
	if s == nil {
		return errNoStore
	}
	if tx == nil {
		return errors.New("complete: no transaction")
	}
	if key == "" || lease == "" {
		return errors.New("complete: empty key or lease")
	}
	if resp.Status < 100 || resp.Status > 599 {
		return fmt.Errorf("complete: status %d is not an HTTP status", resp.Status)
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+dedupe.Table+`
		SET status_code = $3, content_type = $4, response_body = $5, result_reference = $6, lease = NULL, locked_until = NULL
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`,
		key, lease, resp.Status, resp.ContentType, body, resp.Reference)
	if err != nil {
		return fmt.Errorf("complete %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("complete %q: %w", key, err)
	}
	if n != 1 {
		return fmt.Errorf("complete %q: %w", key, ErrLeaseLost)
	}
	return nil
}

// Release deletes an in-flight claim that key still holds under lease, so
// that a retry can process the request afresh (its processing failed before
// producing a result). Releasing a lost lease does nothing.
func (s *Store) Release(ctx context.Context, key, lease string) error {
	if s == nil {
		return errNoStore
	}
	if key == "" || lease == "" {
		return errors.New("release: empty key or lease")
	}
	_, err := s.Querier().ExecContext(ctx, `DELETE FROM `+dedupe.Table+`
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`, key, lease)
	if err != nil {
		return fmt.Errorf("release %q: %w", key, err)
	}
	return nil
}

// Entry is one row of the dedupe table, as read back for tests and
// notebooks.
type Entry struct {
	Key         string           // idempotency_key
	Hash        string           // request_hash
	CreatedAt   time.Time        // created_at
	ExpiresAt   time.Time        // expires_at
	Lease       string           // lease; empty once completed
	LockedUntil time.Time        // locked_until; zero once completed
	Response    *dedupe.Response // the stored response; nil while in flight
}

// InFlight reports whether the entry has no stored response yet.
func (e Entry) InFlight() bool { return e.Response == nil }

// Lookup reads key's row.
func (s *Store) Lookup(ctx context.Context, key string) (Entry, bool, error) {
	if s == nil {
		return Entry{}, false, errNoStore
	}
	var (
		e                Entry
		created, expires int64
		lease, ct, ref   sql.NullString
		locked, status   sql.NullInt64
		body             []byte
	)
	err := s.Querier().QueryRowContext(ctx, `SELECT idempotency_key, request_hash, created_at, expires_at, lease, locked_until,
		status_code, content_type, response_body, result_reference FROM `+dedupe.Table+` WHERE idempotency_key = $1`, key).
		Scan(&e.Key, &e.Hash, &created, &expires, &lease, &locked, &status, &ct, &body, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("lookup %q: %w", key, err)
	}
	e.CreatedAt, e.ExpiresAt = time.UnixMicro(created), time.UnixMicro(expires)
	e.Lease = lease.String
	if locked.Valid {
		e.LockedUntil = time.UnixMicro(locked.Int64)
	}
	if status.Valid {
		e.Response = &dedupe.Response{Status: int(status.Int64), ContentType: ct.String, Body: body, Reference: ref.String}
	}
	return e, true, nil
}

// TableStats describes the dedupe table.
type TableStats struct {
	Rows      int64 // all rows
	InFlight  int64 // rows without a stored response
	DataBytes int64 // bytes of keys, hashes and stored responses (not the index or page overhead)
}

// Stats counts the dedupe table's rows and the bytes they hold.
func (s *Store) Stats(ctx context.Context) (TableStats, error) {
	if s == nil {
		return TableStats{}, errNoStore
	}
	var st TableStats
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status_code IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(LENGTH(idempotency_key) + LENGTH(request_hash) + COALESCE(LENGTH(response_body), 0)
			+ COALESCE(LENGTH(content_type), 0) + COALESCE(LENGTH(result_reference), 0) + COALESCE(LENGTH(lease), 0) + 32), 0)
		FROM `+dedupe.Table).Scan(&st.Rows, &st.InFlight, &st.DataBytes)
	if err != nil {
		return TableStats{}, fmt.Errorf("dedupe table stats: %w", err)
	}
	return st, nil
}

// EventCounts counts the events table: every row is one effect.
type EventCounts struct {
	Effects  int64 // rows
	Distinct int64 // distinct producer event ids
}

// Duplicates is the number of effects beyond the first per event id.
func (c EventCounts) Duplicates() int64 { return c.Effects - c.Distinct }

// CountEvents counts the events stored.
func (s *Store) CountEvents(ctx context.Context) (EventCounts, error) {
	if s == nil {
		return EventCounts{}, errNoStore
	}
	var c EventCounts
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events`).Scan(&c.Effects, &c.Distinct)
	if err != nil {
		return EventCounts{}, fmt.Errorf("count events: %w", err)
	}
	return c, nil
}

// EffectsPerEvent returns how many rows each producer event id has.
func (s *Store) EffectsPerEvent(ctx context.Context) (map[string]int, error) {
	if s == nil {
		return nil, errNoStore
	}
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, COUNT(*) FROM events GROUP BY event_id`)
	if err != nil {
		return nil, fmt.Errorf("effects per event: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("effects per event: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Sweep deletes at most limit rows of the idempotency_keys table that have
// expired at now (expires_at <= now), and returns how many it deleted. A row
// still in flight under a live lease (status_code NULL, locked_until > now)
// is never deleted, even past its expiry: its request is being processed,
// and deleting the row would let a retry process it a second time. An
// in-flight row whose lease also ran out was abandoned and goes. limit must
// be at least 1.
//
//dsgym:exercise idempotency/sweep
func Sweep(ctx context.Context, db dedupe.Querier, now time.Time, limit int) (int64, error) {
	//dsgym:solution
	if db == nil {
		return 0, errors.New("sweep: no database")
	}
	if limit < 1 {
		return 0, fmt.Errorf("sweep: limit must be at least 1, got %d", limit)
	}
	// The outer conditions repeat the inner ones: on PostgreSQL a row
	// taken over between the subquery and the delete is checked again.
	res, err := db.ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE idempotency_key IN (
			SELECT idempotency_key FROM idempotency_keys
			WHERE expires_at <= $1 AND (status_code IS NOT NULL OR locked_until <= $1)
			LIMIT $2)
		AND expires_at <= $1 AND (status_code IS NOT NULL OR locked_until <= $1)`,
		dedupe.Micros(now), limit)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return n, nil
	//dsgym:stub
	// panic("not implemented yet: Sweep: DELETE at most limit rows with expires_at <= now, except rows in flight under a live lease; return how many")
	//dsgym:end
}

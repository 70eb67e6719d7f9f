// Package idempotency holds the exercises of notebooks/03-idempotency.ipynb:
// the claim-or-replay step, the request hash and the TTL sweep of an
// idempotency-key dedupe table (see package dedupe for the table). Under
// solutions/ they are the reference solutions, which the real component in
// pkg/idempotency uses as its defaults; under exercises/ they are yours to
// write, and "dsgym check idempotency" judges them.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Claim atomically claims req.Key in the idempotency_keys table, or reports
// what already holds it:
//
//   - a new key: insert its row (in flight, holding req.Lease until
//     req.Now+req.LeaseFor, expiring at req.Now+req.TTL) and return Claimed;
//   - a key stored with another request hash: Mismatch;
//   - a completed key: Replayed, with the stored response;
//   - an in-flight key whose lease is still live: InFlight;
//   - an in-flight key whose lease ran out (its holder died): take it over
//     for req.Lease and return Claimed, so that exactly one retry wins.
//
// The decision must be atomic: of any number of concurrent claims of a new
// key, exactly one is Claimed, whatever the interleaving. Bad input is an
// error.
//
//dsgym:exercise idempotency/claim
func Claim(ctx context.Context, db dedupe.Querier, req dedupe.Request) (dedupe.Claim, error) {
	//dsgym:solution
	if db == nil {
		return dedupe.Claim{}, errors.New("claim: no database")
	}
	if err := req.Validate(); err != nil {
		return dedupe.Claim{}, err
	}
	now := dedupe.Micros(req.Now)
	// A row can change between our statements (completed, taken over,
	// swept): look again, a few times.
	for range 5 {
		// The atomic step: of concurrent inserts of one key, the primary key
		// lets exactly one through; the others do nothing.
		res, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys
			(idempotency_key, request_hash, created_at, expires_at, lease, locked_until)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (idempotency_key) DO NOTHING`,
			req.Key, req.Hash, now, now+req.TTL.Microseconds(), req.Lease, now+req.LeaseFor.Microseconds())
		if err != nil {
			return dedupe.Claim{}, fmt.Errorf("claim %q: %w", req.Key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dedupe.Claim{}, fmt.Errorf("claim %q: %w", req.Key, err)
		} else if n == 1 {
			return dedupe.Claim{Outcome: dedupe.Claimed}, nil
		}
		// The key exists: read what holds it.
		var (
			hash        string
			status      sql.NullInt64
			contentType sql.NullString
			body        []byte
			ref         sql.NullString
			lockedUntil sql.NullInt64
		)
		err = db.QueryRowContext(ctx, `SELECT request_hash, status_code, content_type, response_body, result_reference, locked_until
			FROM idempotency_keys WHERE idempotency_key = $1`, req.Key).
			Scan(&hash, &status, &contentType, &body, &ref, &lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			continue // swept since our insert failed: try again
		}
		if err != nil {
			return dedupe.Claim{}, fmt.Errorf("claim %q: %w", req.Key, err)
		}
		switch {
		case hash != req.Hash:
			return dedupe.Claim{Outcome: dedupe.Mismatch}, nil
		case status.Valid:
			return dedupe.Claim{Outcome: dedupe.Replayed, Response: dedupe.Response{
				Status: int(status.Int64), ContentType: contentType.String, Body: body, Reference: ref.String,
			}}, nil
		case lockedUntil.Valid && lockedUntil.Int64 > now:
			return dedupe.Claim{Outcome: dedupe.InFlight}, nil
		}
		// In flight, but the holder's lease ran out: take the key over. The
		// condition is in the UPDATE, so of concurrent takeovers one wins.
		res, err = db.ExecContext(ctx, `UPDATE idempotency_keys SET lease = $2, locked_until = $3
			WHERE idempotency_key = $1 AND status_code IS NULL AND locked_until <= $4`,
			req.Key, req.Lease, now+req.LeaseFor.Microseconds(), now)
		if err != nil {
			return dedupe.Claim{}, fmt.Errorf("claim %q: take over: %w", req.Key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dedupe.Claim{}, fmt.Errorf("claim %q: %w", req.Key, err)
		} else if n == 1 {
			return dedupe.Claim{Outcome: dedupe.Claimed}, nil
		}
		// Someone else took it over or completed it first: look again.
	}
	return dedupe.Claim{}, fmt.Errorf("claim %q: the row kept changing; try again", req.Key)
	//dsgym:stub
	// panic("not implemented yet: Claim: INSERT ... ON CONFLICT (idempotency_key) DO NOTHING; if no row was inserted, read the row and return Mismatch, Replayed, InFlight, or take over an expired lease")
	//dsgym:end
}

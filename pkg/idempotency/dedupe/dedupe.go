// Package dedupe is the vocabulary of an idempotency-key dedupe table: the
// row a server keeps per key, the four things a claim can find, and the
// signatures of the three steps that the chapter's exercises ask you to
// write (claim-or-replay, the request hash, the TTL sweep).
//
// It imports only the standard library, so that a notebook cell declaring
// one of those steps stays fast to build.
//
// # The table
//
// One row per idempotency key, in a table named idempotency_keys ([Table]).
// Times are microseconds since the Unix epoch (BIGINT), so that the same SQL
// runs on SQLite and PostgreSQL; [Micros] converts.
//
//	idempotency_key  TEXT PRIMARY KEY  the client's Idempotency-Key
//	request_hash     TEXT NOT NULL     fingerprint of method, target and body
//	created_at       BIGINT NOT NULL   when the key was first claimed
//	expires_at       BIGINT NOT NULL   created_at + TTL: the sweeper may delete the row after it
//	lease            TEXT              token of the request processing the key; NULL once completed
//	locked_until     BIGINT            when that lease runs out; NULL once completed
//	status_code      INTEGER           the stored response's status; NULL while in flight
//	content_type     TEXT              the stored response's Content-Type
//	response_body    BLOB (BYTEA)      the stored response's body
//	result_reference TEXT              where the result lives (the Location of the created resource)
//
// A row is in flight while status_code is NULL, and completed after.
package dedupe

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Table is the name of the dedupe table.
const Table = "idempotency_keys"

// Micros converts t to the table's time unit: microseconds since the Unix
// epoch.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Outcome is what a claim found.
type Outcome int

// The outcomes of a claim.
const (
	// Claimed: this request now holds the key (a new key, or an in-flight
	// key whose holder's lease ran out). Process it, then store the result.
	Claimed Outcome = iota + 1
	// Replayed: the key was completed before with the same request; send
	// the stored response again, without processing.
	Replayed
	// InFlight: another request holds the key and has not finished; answer
	// 409 Conflict (or wait and claim again).
	InFlight
	// Mismatch: the key was used before with a different request (another
	// body, path or method); answer 422 Unprocessable Content.
	Mismatch
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Claimed:
		return "claimed"
	case Replayed:
		return "replayed"
	case InFlight:
		return "in flight"
	case Mismatch:
		return "mismatch"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Request is one attempt to claim a key.
type Request struct {
	// Key is the client's idempotency key.
	Key string
	// Hash is the request's fingerprint (see [HashFunc]).
	Hash string
	// Lease is a token naming this attempt, unique per attempt. Storing
	// the result later succeeds only while the row still holds this lease
	// (a fencing token), so a request whose claim was taken over cannot
	// complete it.
	Lease string
	// Now is the current time (injected, so that tests control it).
	Now time.Time
	// TTL is how long the row is kept: expires_at = Now + TTL.
	TTL time.Duration
	// LeaseFor is how long the claim holds: locked_until = Now + LeaseFor.
	// After that, another request may take the key over (its holder is
	// presumed dead).
	LeaseFor time.Duration
}

// Validate reports the first problem with the request.
func (r Request) Validate() error {
	switch {
	case r.Key == "":
		return errors.New("claim: the idempotency key is empty")
	case r.Hash == "":
		return errors.New("claim: the request hash is empty")
	case r.Lease == "":
		return errors.New("claim: the lease token is empty")
	case r.Now.IsZero():
		return errors.New("claim: the time (Now) is not set")
	case r.TTL <= 0:
		return fmt.Errorf("claim: TTL must be positive, got %v", r.TTL)
	case r.LeaseFor <= 0:
		return fmt.Errorf("claim: LeaseFor must be positive, got %v", r.LeaseFor)
	case r.LeaseFor > r.TTL:
		return fmt.Errorf("claim: LeaseFor (%v) must not exceed the TTL (%v)", r.LeaseFor, r.TTL)
	}
	return nil
}

// Response is a stored response, replayed to retries.
type Response struct {
	Status      int    // status_code
	ContentType string // content_type
	Body        []byte // response_body
	// Reference is the result_reference column: where the result lives.
	Reference string
}

// Claim is what a claim found: the outcome, and the stored response when
// the outcome is [Replayed].
type Claim struct {
	Outcome  Outcome  // what the claim found
	Response Response // the stored response, for Replayed
}

// Querier is what the steps run SQL on: *sql.DB, *sql.Tx and *sql.Conn all
// satisfy it. Statements use $1, $2... placeholders, which both SQLite and
// PostgreSQL accept.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ClaimFunc atomically claims req.Key or reports what holds it: the
// claim-or-replay step.
type ClaimFunc = func(ctx context.Context, db Querier, req Request) (Claim, error)

// HashFunc fingerprints a request: method, target (path and query) and
// body. Two requests with the same key must have the same fingerprint, or
// the second one is rejected.
type HashFunc = func(method, target string, body []byte) (string, error)

// SweepFunc deletes at most limit rows that have expired at now, never a
// row still held by a live lease, and returns how many it deleted.
type SweepFunc = func(ctx context.Context, db Querier, now time.Time, limit int) (int64, error)

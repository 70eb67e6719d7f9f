package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("claim", func(t *testing.T) { Claim.Passes(t, solution.Claim) })
	t.Run("request hash", func(t *testing.T) { RequestHash.Passes(t, solution.RequestHash) })
	t.Run("sweep", func(t *testing.T) { Sweep.Passes(t, solution.Sweep) })
}

// ---- known-bad claims ----

type storedRow struct {
	hash   string
	status sql.NullInt64
	ct     sql.NullString
	body   []byte
	ref    sql.NullString
	locked sql.NullInt64
}

func readRow(ctx context.Context, db dedupe.Querier, key string) (storedRow, error) {
	var r storedRow
	err := db.QueryRowContext(ctx, `SELECT request_hash, status_code, content_type, response_body, result_reference, locked_until
		FROM idempotency_keys WHERE idempotency_key = $1`, key).Scan(&r.hash, &r.status, &r.ct, &r.body, &r.ref, &r.locked)
	return r, err
}

func insertIgnore(ctx context.Context, db dedupe.Querier, req dedupe.Request) (bool, error) {
	now := dedupe.Micros(req.Now)
	res, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (idempotency_key, request_hash, created_at, expires_at, lease, locked_until)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING`,
		req.Key, req.Hash, now, now+req.TTL.Microseconds(), req.Lease, now+req.LeaseFor.Microseconds())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func takeOver(ctx context.Context, db dedupe.Querier, req dedupe.Request, conditional bool) (bool, error) {
	now := dedupe.Micros(req.Now)
	q := `UPDATE idempotency_keys SET lease = $2, locked_until = $3 WHERE idempotency_key = $1 AND status_code IS NULL AND locked_until <= $4`
	args := []any{req.Key, req.Lease, now + req.LeaseFor.Microseconds(), now}
	if !conditional {
		q = `UPDATE idempotency_keys SET lease = $2, locked_until = $3 WHERE idempotency_key = $1`
		args = args[:3]
	}
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// claimVariant is the reference's decision with knobs to break it.
type claimVariant struct {
	ignoreHash, noTakeover, unconditionalTakeover, emptyReplay, noValidation bool
}

func (v claimVariant) claim(ctx context.Context, db dedupe.Querier, req dedupe.Request) (dedupe.Claim, error) {
	if !v.noValidation {
		if db == nil {
			return dedupe.Claim{}, errors.New("no db")
		}
		if err := req.Validate(); err != nil {
			return dedupe.Claim{}, err
		}
	}
	ok, err := insertIgnore(ctx, db, req)
	if err != nil || ok {
		return dedupe.Claim{Outcome: dedupe.Claimed}, err
	}
	r, err := readRow(ctx, db, req.Key)
	if err != nil {
		return dedupe.Claim{}, err
	}
	switch {
	case !v.ignoreHash && r.hash != req.Hash:
		return dedupe.Claim{Outcome: dedupe.Mismatch}, nil
	case r.status.Valid:
		if v.emptyReplay {
			return dedupe.Claim{Outcome: dedupe.Replayed}, nil
		}
		return dedupe.Claim{Outcome: dedupe.Replayed, Response: dedupe.Response{Status: int(r.status.Int64), ContentType: r.ct.String, Body: r.body, Reference: r.ref.String}}, nil
	case r.locked.Int64 > dedupe.Micros(req.Now) || v.noTakeover:
		return dedupe.Claim{Outcome: dedupe.InFlight}, nil
	}
	ok, err = takeOver(ctx, db, req, !v.unconditionalTakeover)
	if err != nil || !ok {
		return dedupe.Claim{Outcome: dedupe.InFlight}, err
	}
	return dedupe.Claim{Outcome: dedupe.Claimed}, nil
}

// checkThenPlainInsert looks, then inserts without ON CONFLICT: the loser
// of a race gets a constraint error instead of an answer.
func checkThenPlainInsert(ctx context.Context, db dedupe.Querier, req dedupe.Request) (dedupe.Claim, error) {
	if err := req.Validate(); err != nil {
		return dedupe.Claim{}, err
	}
	r, err := readRow(ctx, db, req.Key)
	if errors.Is(err, sql.ErrNoRows) {
		now := dedupe.Micros(req.Now)
		_, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (idempotency_key, request_hash, created_at, expires_at, lease, locked_until)
			VALUES ($1, $2, $3, $4, $5, $6)`, req.Key, req.Hash, now, now+req.TTL.Microseconds(), req.Lease, now+req.LeaseFor.Microseconds())
		if err != nil {
			return dedupe.Claim{}, err
		}
		return dedupe.Claim{Outcome: dedupe.Claimed}, nil
	}
	if err != nil {
		return dedupe.Claim{}, err
	}
	if r.status.Valid {
		return dedupe.Claim{Outcome: dedupe.Replayed, Response: dedupe.Response{Status: int(r.status.Int64), ContentType: r.ct.String, Body: r.body, Reference: r.ref.String}}, nil
	}
	return dedupe.Claim{Outcome: dedupe.InFlight}, nil
}

// upsertClaim "never fails": it overwrites whatever row is there.
func upsertClaim(ctx context.Context, db dedupe.Querier, req dedupe.Request) (dedupe.Claim, error) {
	if err := req.Validate(); err != nil {
		return dedupe.Claim{}, err
	}
	if db == nil {
		return dedupe.Claim{}, errors.New("no db")
	}
	now := dedupe.Micros(req.Now)
	_, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (idempotency_key, request_hash, created_at, expires_at, lease, locked_until)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, lease = excluded.lease,
			locked_until = excluded.locked_until, status_code = NULL, response_body = NULL`,
		req.Key, req.Hash, now, now+req.TTL.Microseconds(), req.Lease, now+req.LeaseFor.Microseconds())
	return dedupe.Claim{Outcome: dedupe.Claimed}, err
}

func deadlocks(context.Context, dedupe.Querier, dedupe.Request) (dedupe.Claim, error) {
	select {}
}

func TestClaimChecksCatchKnownBadClaims(t *testing.T) {
	for _, tt := range []struct {
		name   string
		bad    ClaimFunc
		checks []string
	}{
		{"check-then-insert with an upsert (no atomicity)", experiment.CheckThenInsert, []string{
			"of 8 concurrent claims of a new key, exactly one wins and the others see it in flight",
			"a retry of a completed request gets the stored response back"}},
		{"check-then-insert with a plain insert (errors under races)", checkThenPlainInsert, []string{
			"of 8 concurrent claims of a new key, exactly one wins and the others see it in flight",
			"the same key with a different request hash is a Mismatch, in flight or completed"}},
		{"ignoring the request hash", claimVariant{ignoreHash: true}.claim, []string{
			"the same key with a different request hash is a Mismatch, in flight or completed"}},
		{"never taking over a dead holder's key", claimVariant{noTakeover: true}.claim, []string{
			"an in-flight key whose lease ran out is taken over by exactly one of 8 concurrent retries"}},
		{"taking over without a condition in the UPDATE", claimVariant{unconditionalTakeover: true}.claim, []string{
			"an in-flight key whose lease ran out is taken over by exactly one of 8 concurrent retries"}},
		{"replaying without the stored response", claimVariant{emptyReplay: true}.claim, []string{
			"a retry of a completed request gets the stored response back"}},
		{"an upsert that overwrites the row", upsertClaim, []string{
			"a retry while the first request is in flight gets InFlight and leaves the lease alone",
			"later claims never change a completed entry",
			"of 8 concurrent claims of a new key, exactly one wins and the others see it in flight"}},
		{"no input validation", claimVariant{noValidation: true}.claim, []string{"bad input is an error, not a panic"}},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			Claim.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
	t.Run("rejects blocking forever", func(t *testing.T) {
		Claim.Timeout = 300 * time.Millisecond // the blocking version must time out fast
		defer func() { Claim.Timeout = 30 * time.Second }()
		Claim.Catches(t, "blocking forever", deadlocks, "a new key is claimed: in flight under the lease until now+LeaseFor, expiring at now+TTL")
	})
}

func TestTheRaceChecksCatchTheirKnownBadClaimsEveryTime(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	for _, tt := range []struct {
		name  string
		bad   ClaimFunc
		check string
	}{
		{"check-then-insert", experiment.CheckThenInsert, "of 8 concurrent claims of a new key, exactly one wins and the others see it in flight"},
		{"an unconditional takeover", claimVariant{unconditionalTakeover: true}.claim, "an in-flight key whose lease ran out is taken over by exactly one of 8 concurrent retries"},
	} {
		t.Run("catches "+tt.name, func(t *testing.T) {
			for i := range 15 {
				for _, r := range Claim.Run(tt.bad).Results {
					if r.Check == tt.check && r.Outcome == "passed" {
						t.Fatalf("run %d: %s passed %q", i, tt.name, tt.check)
					}
				}
			}
		})
	}
}

// ---- known-bad hashes ----

func canonical(body []byte, useNumber bool) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if useNumber {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("trailing data")
	}
	return json.Marshal(v)
}

func prefixed(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashVariant(ignoreBody, raw, concat, float, noHash, noValidation bool) HashFunc {
	return func(method, target string, body []byte) (string, error) {
		if !noValidation && (method == "" || target == "") {
			return "", errors.New("empty")
		}
		b := body
		if !raw {
			c, err := canonical(body, !float)
			if err != nil {
				if noValidation {
					c = body
				} else {
					return "", err
				}
			}
			b = c
		}
		if ignoreBody {
			b = nil
		}
		if noHash {
			return method + " " + target + " " + string(b), nil
		}
		if concat {
			sum := sha256.Sum256([]byte(method + target + string(b)))
			return hex.EncodeToString(sum[:]), nil
		}
		return prefixed([]byte(method), []byte(target), b), nil
	}
}

func TestHashChecksCatchKnownBadHashes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		bad    HashFunc
		checks []string
	}{
		{"ignoring the payload", hashVariant(true, false, false, false, false, false), []string{"a different body gets a different hash"}},
		{"hashing the raw bytes", hashVariant(false, true, false, false, false, false), []string{"key order and white space in the JSON body do not change the hash"}},
		{"concatenating the parts", hashVariant(false, false, true, false, false, false), []string{"bytes moved between the target and the body change the hash"}},
		{"decoding numbers into float64", hashVariant(false, false, false, true, false, false), []string{"numbers are hashed exactly, never rounded through float64"}},
		{"storing the canonical request instead of a hash", hashVariant(false, false, false, false, true, false), []string{"the hash has a fixed size, whatever the body"}},
		{"accepting bodies that are not JSON", hashVariant(false, false, false, false, false, true), []string{"a body that is not one JSON value, or an empty method or target, is an error; an empty body is fine"}},
		{"canonicalising by flattening every value to its text", func(method, target string, body []byte) (string, error) {
			if method == "" || target == "" {
				return "", errors.New("empty")
			}
			c, err := canonical(body, true)
			if err != nil || c == nil {
				return prefixed([]byte(method), []byte(target), c), err
			}
			// A plausible shortcut: sorted key=value pairs of the values'
			// text, which cannot tell 100 from "100".
			var v any
			dec := json.NewDecoder(bytes.NewReader(c))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return "", err
			}
			var flat []string
			var walk func(prefix string, v any)
			walk = func(prefix string, v any) {
				switch x := v.(type) {
				case map[string]any:
					for k, e := range x {
						walk(prefix+"."+k, e)
					}
				case []any:
					if len(x) == 0 {
						flat = append(flat, prefix+"=")
					}
					for i, e := range x {
						walk(fmt.Sprintf("%s[%d]", prefix, i), e)
					}
				default:
					s := fmt.Sprint(x)
					if x == nil {
						s = "null"
					}
					flat = append(flat, prefix+"="+s)
				}
			}
			walk("", v)
			if m, ok := v.(map[string]any); ok {
				for k, e := range m {
					if sub, ok := e.(map[string]any); ok && len(sub) == 0 {
						flat = append(flat, "."+k+"=")
					}
				}
			}
			slices.Sort(flat)
			return prefixed([]byte(method), []byte(target), []byte(strings.Join(flat, "&"))), nil
		}, []string{"values that differ only in JSON type get different hashes"}},
		{"hashing only the body", func(_, _ string, body []byte) (string, error) {
			c, err := canonical(body, true)
			return prefixed(c), err
		}, []string{"the same body on another path or with another method gets a different hash"}},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			RequestHash.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

// ---- known-bad sweeps ----

func sweepVariant(where string, limit, validate bool) SweepFunc {
	return func(ctx context.Context, db dedupe.Querier, now time.Time, n int) (int64, error) {
		if validate && (n < 1 || db == nil) {
			return 0, errors.New("bad input")
		}
		if db == nil {
			return 0, nil
		}
		q := `DELETE FROM idempotency_keys WHERE ` + where
		args := []any{dedupe.Micros(now)}
		if limit {
			q = `DELETE FROM idempotency_keys WHERE idempotency_key IN (SELECT idempotency_key FROM idempotency_keys WHERE ` + where + ` LIMIT $2)`
			args = append(args, n)
		}
		res, err := db.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

func TestSweepChecksCatchKnownBadSweeps(t *testing.T) {
	const right = `expires_at <= $1 AND (status_code IS NOT NULL OR locked_until <= $1)`
	for _, tt := range []struct {
		name   string
		bad    SweepFunc
		checks []string
	}{
		{"evicting entries still in flight", sweepVariant(`expires_at <= $1`, true, true), []string{
			"an entry in flight under a live lease is kept, even past its expiry"}},
		{"never evicting an in-flight entry", sweepVariant(`expires_at <= $1 AND status_code IS NOT NULL`, true, true), []string{
			"an abandoned claim (lease and TTL both over) is deleted", "expired completed entries are deleted, and counted"}},
		{"ignoring the limit", sweepVariant(right, false, true), []string{"at most limit rows go per call, and the count is exact"}},
		{"comparing the expiry the wrong way", sweepVariant(`expires_at >= $1 AND (status_code IS NOT NULL OR locked_until <= $1)`, true, true), []string{
			"entries that have not expired are kept", "expired completed entries are deleted, and counted"}},
		{"no input validation", sweepVariant(right, true, false), []string{"a limit below 1, or no database, is an error"}},
		{"deleting everything expired regardless of leases, in one go", func(ctx context.Context, db dedupe.Querier, now time.Time, n int) (int64, error) {
			return sweepVariant(`expires_at <= $1`, false, true)(ctx, db, now, n)
		}, []string{"an entry in flight under a live lease is kept, even past its expiry", "at most limit rows go per call, and the count is exact"}},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			Sweep.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

func TestPickUsesTheReferenceForAStub(t *testing.T) {
	stub := func(context.Context, dedupe.Querier, dedupe.Request) (dedupe.Claim, error) {
		panic("not implemented yet: Claim: ...")
	}
	got := Claim.Pick(stub)
	c, err := got(context.Background(), nil, dedupe.Request{})
	if err == nil {
		t.Fatalf("the picked claim accepted bad input: %+v", c)
	}
}

// Package drill defines the exercises of notebooks/03-idempotency.ipynb:
// the claim-or-replay step, the request hash and the TTL sweep of an
// idempotency-key dedupe table, each with its checks, hints and reference.
//
// The claim and sweep checks run against a real SQLite database (a
// throwaway file per check), through the same dedupe.Querier the ingestion
// API uses; the concurrency checks put a short delay after each statement,
// as a network hop to the database would, so that races show up at once.
package drill

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

// ClaimFunc is the signature of the claim-or-replay exercise.
type ClaimFunc = dedupe.ClaimFunc

// HashFunc is the signature of the request-hash exercise.
type HashFunc = dedupe.HashFunc

// SweepFunc is the signature of the sweep exercise.
type SweepFunc = dedupe.SweepFunc

const notebook = "03-idempotency.ipynb"

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// raceDelay is the pause after each statement in the concurrency checks.
const raceDelay = 300 * time.Microsecond

// withStore runs fn on a fresh SQLite store with the dedupe table.
func withStore(t exercise.T, fn func(s *idempotency.Store)) {
	s, err := idempotency.OpenTemp(context.Background(), idempotency.SQLite, "")
	require.NoErrorf(t, err, "could not open the check's SQLite database")
	defer s.Close()
	fn(s)
}

func req(key, hash, lease string, now time.Time) dedupe.Request {
	return dedupe.Request{Key: key, Hash: hash, Lease: lease, Now: now, TTL: time.Hour, LeaseFor: 10 * time.Second}
}

func show(r dedupe.Request) string {
	return fmt.Sprintf("Claim(key=%q, hash=%q, lease=%q, now=t0+%v)", r.Key, r.Hash, r.Lease, r.Now.Sub(t0))
}

// complete stores resp for key under lease, as the middleware does.
func complete(t exercise.T, s *idempotency.Store, key, lease string, resp dedupe.Response) {
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	require.NoErrorf(t, err, "begin")
	if err := s.Complete(ctx, tx, key, lease, resp); err != nil {
		_ = tx.Rollback()
		require.NoErrorf(t, err, "storing the response of key %q under lease %q (does your claim write the lease column?)", key, lease)
	}
	require.NoErrorf(t, tx.Commit(), "commit")
}

// parallel runs fn(0..n-1) in goroutines released together, and re-raises
// the first panic in the caller (so that a stub's "not implemented" and
// real panics are reported, not fatal).
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	var once sync.Once
	var panicked any
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					once.Do(func() { panicked = v })
				}
			}()
			<-gate
			fn(i)
		}()
	}
	close(gate)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}

// describe prints a row's columns.
func describe(e idempotency.Entry) string {
	s := fmt.Sprintf("hash=%s expires=%d lease=%q locked_until=%d", e.Hash, e.ExpiresAt.UnixMicro(), e.Lease, e.LockedUntil.UnixMicro())
	if e.Response != nil {
		s += fmt.Sprintf(" status=%d body=%s ref=%s", e.Response.Status, e.Response.Body, e.Response.Reference)
	} else {
		s += " status=NULL"
	}
	return s
}

var sampleResponse = dedupe.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"seq":17,"id":"reading-42"}`), Reference: "/events/17"}

// Claim is the claim-or-replay exercise.
var Claim = exercise.Register(&exercise.Exercise[ClaimFunc]{
	ID:       "idempotency/claim",
	Title:    "Claim a key atomically, or say what holds it",
	Task:     "claim req.Key with INSERT ... ON CONFLICT DO NOTHING; if the key exists, return Mismatch, Replayed (with the stored response), InFlight, or take over an expired lease",
	Func:     "Claim",
	Notebook: notebook,
	Hints: [3]string{
		"Two retries can arrive at the same instant. Whatever you do first must let exactly one of them through, so it cannot be a read followed by a write: what single SQL statement both checks and writes?",
		"INSERT INTO idempotency_keys (idempotency_key, request_hash, created_at, expires_at, lease, locked_until) VALUES (...) ON CONFLICT (idempotency_key) DO NOTHING: RowsAffected() == 1 means you own the key. Otherwise SELECT the row and decide, in this order: another request_hash is a Mismatch; a status_code (not NULL) is a Replayed with the stored response; locked_until > now is InFlight; else the holder's lease ran out, and an UPDATE ... WHERE ... AND locked_until <= now takes it over (RowsAffected() == 1: Claimed). Times are dedupe.Micros(t).",
		"Validate first (req.Validate(), db != nil). now := dedupe.Micros(req.Now); insert with expires_at = now + req.TTL.Microseconds() and locked_until = now + req.LeaseFor.Microseconds(). Scan status_code and locked_until into sql.NullInt64, content_type and result_reference into sql.NullString, response_body into []byte. The takeover: UPDATE idempotency_keys SET lease = $2, locked_until = $3 WHERE idempotency_key = $1 AND status_code IS NULL AND locked_until <= $4. If the SELECT finds no row (swept meanwhile) or the UPDATE changes none, loop and try again (a few times).",
	},
	Reference: solution.Claim,
	Probe: func(f ClaimFunc) {
		s, err := idempotency.OpenTemp(context.Background(), idempotency.SQLite, "")
		if err != nil {
			return
		}
		defer s.Close()
		_, _ = f(context.Background(), s.Querier(), req("probe", "h", "l", t0))
	},
	Checks: []exercise.Check[ClaimFunc]{
		{Name: "a new key is claimed: in flight under the lease until now+LeaseFor, expiring at now+TTL", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				r := req("k1", "h1", "lease-1", t0)
				c, err := f(context.Background(), s.Querier(), r)
				require.NoErrorf(t, err, "%s", show(r))
				require.Equalf(t, dedupe.Claimed, c.Outcome, "%s on an empty table", show(r))
				e, ok, err := s.Lookup(context.Background(), "k1")
				require.NoErrorf(t, err, "reading the row back")
				require.Truef(t, ok, "%s returned Claimed but left no row for the key", show(r))
				require.Equalf(t, "h1", e.Hash, "request_hash of the new row")
				require.Equalf(t, "lease-1", e.Lease, "lease of the new row")
				require.Truef(t, e.InFlight(), "the new row has a status_code already; it must stay NULL until the response is stored")
				require.Equalf(t, t0.Add(10*time.Second).UnixMicro(), e.LockedUntil.UnixMicro(), "locked_until of the new row (µs; want now + LeaseFor)")
				require.Equalf(t, t0.Add(time.Hour).UnixMicro(), e.ExpiresAt.UnixMicro(), "expires_at of the new row (µs; want now + TTL)")
				require.Equalf(t, t0.UnixMicro(), e.CreatedAt.UnixMicro(), "created_at of the new row (µs; want now)")
			})
		}},
		{Name: "a retry while the first request is in flight gets InFlight and leaves the lease alone", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				ctx := context.Background()
				_, err := f(ctx, s.Querier(), req("k1", "h1", "first", t0))
				require.NoErrorf(t, err, "%s", show(req("k1", "h1", "first", t0)))
				r := req("k1", "h1", "second", t0.Add(time.Second))
				c, err := f(ctx, s.Querier(), r)
				require.NoErrorf(t, err, "%s", show(r))
				require.Equalf(t, dedupe.InFlight, c.Outcome, "%s while lease \"first\" holds the key until t0+10s", show(r))
				e, _, err := s.Lookup(ctx, "k1")
				require.NoErrorf(t, err, "reading the row back")
				require.Equalf(t, "first", e.Lease, "the lease after the retry (the retry must not steal it)")
			})
		}},
		{Name: "a retry of a completed request gets the stored response back", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				ctx := context.Background()
				_, err := f(ctx, s.Querier(), req("k1", "h1", "first", t0))
				require.NoErrorf(t, err, "%s", show(req("k1", "h1", "first", t0)))
				complete(t, s, "k1", "first", sampleResponse)
				r := req("k1", "h1", "retry", t0.Add(time.Minute))
				c, err := f(ctx, s.Querier(), r)
				require.NoErrorf(t, err, "%s", show(r))
				require.Equalf(t, dedupe.Replayed, c.Outcome, "%s after the first request stored its 201", show(r))
				require.Equalf(t, sampleResponse.Status, c.Response.Status, "%s: replayed status", show(r))
				require.Equalf(t, sampleResponse.ContentType, c.Response.ContentType, "%s: replayed content type", show(r))
				require.Equalf(t, string(sampleResponse.Body), string(c.Response.Body), "%s: replayed body", show(r))
				require.Equalf(t, sampleResponse.Reference, c.Response.Reference, "%s: replayed result_reference", show(r))
			})
		}},
		{Name: "the same key with a different request hash is a Mismatch, in flight or completed", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				ctx := context.Background()
				_, err := f(ctx, s.Querier(), req("k1", "h1", "first", t0))
				require.NoErrorf(t, err, "%s", show(req("k1", "h1", "first", t0)))
				r := req("k1", "another body", "second", t0.Add(time.Second))
				c, err := f(ctx, s.Querier(), r)
				require.NoErrorf(t, err, "%s", show(r))
				require.Equalf(t, dedupe.Mismatch, c.Outcome, "%s while \"h1\" is in flight", show(r))
				complete(t, s, "k1", "first", sampleResponse)
				c, err = f(ctx, s.Querier(), r)
				require.NoErrorf(t, err, "%s", show(r))
				require.Equalf(t, dedupe.Mismatch, c.Outcome, "%s after \"h1\" completed", show(r))
			})
		}},
		{Name: "of 8 concurrent claims of a new key, exactly one wins and the others see it in flight", Hint: 1, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				q := experiment.SlowQuerier{Q: s.Querier(), Delay: raceDelay}
				const keys, racers = 12, 8
				for k := range keys {
					key := fmt.Sprint("race-", k)
					outcomes := make([]dedupe.Outcome, racers)
					errs := make([]error, racers)
					parallel(racers, func(i int) {
						c, err := f(context.Background(), q, req(key, "h", fmt.Sprint("lease-", i), t0))
						outcomes[i], errs[i] = c.Outcome, err
					})
					wins := 0
					for i, o := range outcomes {
						require.NoErrorf(t, errs[i], "%d concurrent claims of key %q: one returned an error (a retry must get an answer, not an error)", racers, key)
						if o == dedupe.Claimed {
							wins++
						} else {
							require.Equalf(t, dedupe.InFlight, o, "%d concurrent claims of key %q: a loser's outcome", racers, key)
						}
					}
					require.Equalf(t, 1, wins, "%d concurrent claims of key %q: how many got Claimed (so would process the request)", racers, key)
				}
			})
		}},
		{Name: "an in-flight key whose lease ran out is taken over by exactly one of 8 concurrent retries", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				ctx := context.Background()
				const keys = 6
				for k := range keys {
					key := fmt.Sprint("crashed-", k)
					_, err := f(ctx, s.Querier(), req(key, "h1", "crashed", t0))
					require.NoErrorf(t, err, "%s", show(req(key, "h1", "crashed", t0)))
				}
				q := experiment.SlowQuerier{Q: s.Querier(), Delay: 2 * raceDelay}
				later := t0.Add(11 * time.Second)
				for k := range keys {
					key := fmt.Sprint("crashed-", k)
					outcomes := make([]dedupe.Outcome, 8)
					errs := make([]error, 8)
					parallel(8, func(i int) {
						c, err := f(ctx, q, req(key, "h1", fmt.Sprint("retry-", i), later))
						outcomes[i], errs[i] = c.Outcome, err
					})
					winner := ""
					for i, o := range outcomes {
						require.NoErrorf(t, errs[i], "8 concurrent claims at t0+11s of key %q, whose lease ended at t0+10s: one returned an error", key)
						if o == dedupe.Claimed {
							require.Emptyf(t, winner, "8 concurrent claims at t0+11s of key %q, whose lease ended at t0+10s: two took it over (%s and retry-%d)", key, winner, i)
							winner = fmt.Sprint("retry-", i)
						}
					}
					require.NotEmptyf(t, winner, "8 concurrent claims at t0+11s of key %q, whose holder's lease ended at t0+10s: none took it over (outcomes %v)", key, outcomes)
					e, _, err := s.Lookup(ctx, key)
					require.NoErrorf(t, err, "reading the row back")
					require.Equalf(t, winner, e.Lease, "the lease of key %q after the takeover (want the winner's)", key)
					require.Equalf(t, later.Add(10*time.Second).UnixMicro(), e.LockedUntil.UnixMicro(), "locked_until of key %q after the takeover (µs; want now + LeaseFor)", key)
				}
			})
		}},
		{Name: "later claims never change a completed entry", Hint: 2, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				ctx := context.Background()
				_, err := f(ctx, s.Querier(), req("k1", "h1", "first", t0))
				require.NoErrorf(t, err, "%s", show(req("k1", "h1", "first", t0)))
				complete(t, s, "k1", "first", sampleResponse)
				before, _, err := s.Lookup(ctx, "k1")
				require.NoErrorf(t, err, "reading the row back")
				for i, r := range []dedupe.Request{req("k1", "h1", "again", t0.Add(time.Minute)), req("k1", "h2", "other", t0.Add(2*time.Minute))} {
					_, err := f(ctx, s.Querier(), r)
					require.NoErrorf(t, err, "%s", show(r))
					after, ok, err := s.Lookup(ctx, "k1")
					require.NoErrorf(t, err, "reading the row back")
					require.Truef(t, ok, "%s deleted the completed row", show(r))
					require.Equalf(t, describe(before), describe(after), "the completed row after claim %d, %s", i+1, show(r))
				}
			})
		}},
		{Name: "bad input is an error, not a panic", Hint: 1, Run: func(t exercise.T, f ClaimFunc) {
			withStore(t, func(s *idempotency.Store) {
				good := req("k", "h", "l", t0)
				bad := map[string]dedupe.Request{}
				r := good
				r.Key = ""
				bad["an empty key"] = r
				r = good
				r.Hash = ""
				bad["an empty hash"] = r
				r = good
				r.Lease = ""
				bad["an empty lease"] = r
				r = good
				r.Now = time.Time{}
				bad["no time"] = r
				r = good
				r.TTL = 0
				bad["a zero TTL"] = r
				r = good
				r.LeaseFor = -time.Second
				bad["a negative LeaseFor"] = r
				for what, r := range bad {
					_, err := f(context.Background(), s.Querier(), r)
					require.Errorf(t, err, "Claim with %s returned no error", what)
				}
				_, err := f(context.Background(), nil, good)
				require.Errorf(t, err, "Claim with a nil database returned no error")
				_, ok, err := s.Lookup(context.Background(), "")
				require.NoErrorf(t, err, "reading the table")
				require.Falsef(t, ok, "Claim with an empty key stored a row")
			})
		}},
	},
	Timeout: 30 * time.Second,
})

// RequestHash is the request-hash exercise.
var RequestHash = exercise.Register(&exercise.Exercise[HashFunc]{
	ID:       "idempotency/requesthash",
	Title:    "Fingerprint a request",
	Task:     "return a fixed-size hash of method, target and the canonical JSON body (sorted keys, exact numbers), the parts length-prefixed; an error for a body that is not JSON",
	Func:     "RequestHash",
	Notebook: notebook,
	Hints: [3]string{
		"The hash answers one question: is this retry the same request as the first one? Which differences must change it (the body's values, the path, the method) and which must not (how a client library happened to order the keys or space the JSON)?",
		"Canonicalise the body: decode it with a json.Decoder on which you call UseNumber (so 12345678901234567890 is not rounded through float64), then json.Marshal the value: Go writes map keys sorted and no white space. Then hash method, target and body with SHA-256, each part prefixed by its length, so that (\"/a\", 12) and (\"/a1\", 2) cannot run together into the same bytes.",
		"Check method != \"\" && target != \"\". If len(bytes.TrimSpace(body)) > 0: dec := json.NewDecoder(bytes.NewReader(body)); dec.UseNumber(); var v any; dec.Decode(&v) (error: not JSON); a second dec.Decode must return io.EOF (else: more than one value); canonical, _ := json.Marshal(v). Then h := sha256.New(); for each part: binary.BigEndian.PutUint64(n[:], uint64(len(part))); h.Write(n[:]); h.Write(part). Return hex.EncodeToString(h.Sum(nil)).",
	},
	Reference: solution.RequestHash,
	Probe:     func(f HashFunc) { _, _ = f("POST", "/events", []byte(`{"a":1}`)) },
	Checks: []exercise.Check[HashFunc]{
		{Name: "the same request always gets the same non-empty hash", Hint: 1, Run: func(t exercise.T, f HashFunc) {
			body := []byte(`{"id":"reading-42","data":{"celsius":21.5}}`)
			a, err := f("POST", "/events", body)
			require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", body)
			require.NotEmptyf(t, a, "RequestHash(POST, /events, %s)", body)
			b, err := f("POST", "/events", append([]byte(nil), body...))
			require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", body)
			require.Equalf(t, a, b, "RequestHash(POST, /events, %s) twice", body)
		}},
		{Name: "a different body gets a different hash", Hint: 1, Run: func(t exercise.T, f HashFunc) {
			for _, pair := range [][2]string{
				{`{"amount":100}`, `{"amount":101}`},
				{`{"amount":100}`, `{"amount":100,"currency":"EUR"}`},
				{`{"a":{"b":[1,2]}}`, `{"a":{"b":[2,1]}}`},
				{`{"a":"x"}`, `{"a":"X"}`},
				{`{"a":null}`, `{}`},
			} {
				a, err := f("POST", "/events", []byte(pair[0]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[0])
				b, err := f("POST", "/events", []byte(pair[1]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[1])
				require.NotEqualf(t, a, b, "RequestHash of bodies %s and %s: the same hash (a retry with the other body would be replayed the first one's answer)", pair[0], pair[1])
			}
		}},
		{Name: "the same body on another path or with another method gets a different hash", Hint: 1, Run: func(t exercise.T, f HashFunc) {
			body := []byte(`{"id":"x"}`)
			base, err := f("POST", "/events", body)
			require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", body)
			for _, mt := range [][2]string{{"POST", "/payments"}, {"POST", "/events?dry_run=1"}, {"PATCH", "/events"}} {
				h, err := f(mt[0], mt[1], body)
				require.NoErrorf(t, err, "RequestHash(%s, %s, %s)", mt[0], mt[1], body)
				require.NotEqualf(t, base, h, "RequestHash(%s, %s, %s) equals RequestHash(POST, /events, %s)", mt[0], mt[1], body, body)
			}
		}},
		{Name: "key order and white space in the JSON body do not change the hash", Hint: 2, Run: func(t exercise.T, f HashFunc) {
			a, err := f("POST", "/events", []byte(`{"id":"e1","data":{"x":1,"y":[1,2]}}`))
			require.NoErrorf(t, err, `RequestHash(POST, /events, {"id":"e1",...})`)
			for _, other := range []string{
				`{"data":{"y":[1,2],"x":1},"id":"e1"}`,
				"{\n  \"id\": \"e1\",\n  \"data\": { \"x\": 1, \"y\": [ 1, 2 ] }\n}\n",
			} {
				b, err := f("POST", "/events", []byte(other))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %q)", other)
				require.Equalf(t, a, b, `RequestHash of {"id":"e1","data":{"x":1,"y":[1,2]}} and of %q (the same JSON, re-serialised by a retrying client)`, other)
			}
		}},
		{Name: "bytes moved between the target and the body change the hash", Hint: 2, Run: func(t exercise.T, f HashFunc) {
			a, err := f("POST", "/a", []byte(`12`))
			require.NoErrorf(t, err, "RequestHash(POST, /a, 12)")
			b, err := f("POST", "/a1", []byte(`2`))
			require.NoErrorf(t, err, "RequestHash(POST, /a1, 2)")
			require.NotEqualf(t, a, b, "RequestHash(POST, /a, 12) and RequestHash(POST, /a1, 2) are equal: the parts run together; prefix each with its length")
			c, err := f("POST", "/x", nil)
			require.NoErrorf(t, err, "RequestHash(POST, /x, no body)")
			d, err := f("POST/", "x", nil)
			require.NoErrorf(t, err, "RequestHash(POST/, x, no body)")
			require.NotEqualf(t, c, d, "RequestHash(POST, /x) and RequestHash(POST/, x) are equal")
		}},
		{Name: "numbers are hashed exactly, never rounded through float64", Hint: 2, Run: func(t exercise.T, f HashFunc) {
			for _, pair := range [][2]string{
				{`{"id":12345678901234567890}`, `{"id":12345678901234567891}`},
				{`{"amount":0.1}`, `{"amount":0.10000000000000001}`},
			} {
				a, err := f("POST", "/events", []byte(pair[0]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[0])
				b, err := f("POST", "/events", []byte(pair[1]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[1])
				require.NotEqualf(t, a, b, "RequestHash of %s and %s are equal: the numbers went through float64 (use Decoder.UseNumber)", pair[0], pair[1])
			}
		}},
		{Name: "values that differ only in JSON type get different hashes", Hint: 2, Run: func(t exercise.T, f HashFunc) {
			for _, pair := range [][2]string{
				{`{"amount":100}`, `{"amount":"100"}`},
				{`{"paid":true}`, `{"paid":"true"}`},
				{`{"note":null}`, `{"note":"null"}`},
				{`{"tags":[1,2]}`, `{"tags":"[1,2]"}`},
				{`{"a":{}}`, `{"a":[]}`},
			} {
				a, err := f("POST", "/events", []byte(pair[0]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[0])
				b, err := f("POST", "/events", []byte(pair[1]))
				require.NoErrorf(t, err, "RequestHash(POST, /events, %s)", pair[1])
				require.NotEqualf(t, a, b, "RequestHash of %s and %s are equal: a number and a string (or true and \"true\") are different requests; canonicalise the JSON values, not their text", pair[0], pair[1])
			}
		}},
		{Name: "the hash has a fixed size, whatever the body", Hint: 2, Run: func(t exercise.T, f HashFunc) {
			small, err := f("POST", "/events", []byte(`{}`))
			require.NoErrorf(t, err, "RequestHash(POST, /events, {})")
			big := []byte(`{"blob":"` + strings.Repeat("x", 100_000) + `"}`)
			large, err := f("POST", "/events", big)
			require.NoErrorf(t, err, "RequestHash(POST, /events, a 100 kB body)")
			require.Equalf(t, len(small), len(large), "length of the hash of {} and of a 100 kB body (the dedupe table stores one per key: keep it small)")
			require.LessOrEqualf(t, len(large), 128, "length of the hash of a 100 kB body")
		}},
		{Name: "a body that is not one JSON value, or an empty method or target, is an error; an empty body is fine", Hint: 1, Run: func(t exercise.T, f HashFunc) {
			for _, b := range []string{`{"a":`, `{} {}`, `{"a":1}x`, `hello`} {
				h, err := f("POST", "/events", []byte(b))
				require.Errorf(t, err, "RequestHash(POST, /events, %q) returned %q and no error", b, h)
			}
			_, err := f("POST", "/events", nil)
			require.NoErrorf(t, err, "RequestHash(POST, /events, empty body)")
			_, err = f("", "/events", []byte(`{}`))
			require.Errorf(t, err, "RequestHash with an empty method returned no error")
			_, err = f("POST", "", []byte(`{}`))
			require.Errorf(t, err, "RequestHash with an empty target returned no error")
		}},
	},
})

// row is a dedupe row for the sweep checks.
type row struct {
	key      string
	expires  time.Duration // after t0
	inFlight bool
	lockedTo time.Duration // after t0, when in flight
}

func insertRows(t exercise.T, s *idempotency.Store, rows []row) {
	for _, r := range rows {
		var lease, locked, status any
		if r.inFlight {
			lease, locked = "lease-"+r.key, t0.Add(r.lockedTo).UnixMicro()
		} else {
			status = 201
		}
		_, err := s.Querier().ExecContext(context.Background(), `INSERT INTO idempotency_keys
			(idempotency_key, request_hash, created_at, expires_at, lease, locked_until, status_code, content_type, response_body, result_reference)
			VALUES ($1, 'h', $2, $3, $4, $5, $6, 'application/json', $7, '/events/1')`,
			r.key, t0.Add(-time.Hour).UnixMicro(), t0.Add(r.expires).UnixMicro(), lease, locked, status, []byte(`{"seq":1}`))
		require.NoErrorf(t, err, "setting up row %q", r.key)
	}
}

func keys(t exercise.T, s *idempotency.Store) []string {
	var out []string
	for _, k := range []string{"done-expired", "done-fresh", "live", "abandoned", "fresh-in-flight"} {
		_, ok, err := s.Lookup(context.Background(), k)
		require.NoErrorf(t, err, "reading the table")
		if ok {
			out = append(out, k)
		}
	}
	return out
}

var sweepRows = []row{
	{key: "done-expired", expires: -time.Minute},
	{key: "done-fresh", expires: time.Hour},
	{key: "live", expires: -time.Minute, inFlight: true, lockedTo: time.Minute},
	{key: "abandoned", expires: -time.Minute, inFlight: true, lockedTo: -30 * time.Minute},
	{key: "fresh-in-flight", expires: time.Hour, inFlight: true, lockedTo: time.Minute},
}

func sweepCase(t exercise.T, f SweepFunc, check func(deleted int64, left []string)) {
	withStore(t, func(s *idempotency.Store) {
		insertRows(t, s, sweepRows)
		n, err := f(context.Background(), s.Querier(), t0, 100)
		require.NoErrorf(t, err, "Sweep(now=t0, limit=100)")
		check(n, keys(t, s))
	})
}

const sweepSetup = "rows: done-expired (completed, expired 1 min ago), done-fresh (completed, expires in 1 h), live (in flight, expired 1 min ago, lease until t0+1 min), abandoned (in flight, expired, lease ended 30 min ago), fresh-in-flight"

// Sweep is the TTL-sweep exercise.
var Sweep = exercise.Register(&exercise.Exercise[SweepFunc]{
	ID:       "idempotency/sweep",
	Title:    "Sweep expired keys, never a live claim",
	Task:     "DELETE at most limit rows with expires_at <= now, except rows in flight under a live lease; return how many",
	Func:     "Sweep",
	Notebook: notebook,
	Hints: [3]string{
		"Expired is not the only question. What is happening to a row whose status_code is still NULL, and what would a retry do if that row disappeared now?",
		"Delete rows with expires_at <= now, unless they are in flight (status_code IS NULL) with locked_until > now: their request is still running. An in-flight row whose lease also ran out was abandoned by a crashed server; it goes. Bound the work per call with LIMIT in a subquery (PostgreSQL has no DELETE ... LIMIT), and return RowsAffected().",
		"Check limit >= 1 and db != nil. Then: DELETE FROM idempotency_keys WHERE idempotency_key IN (SELECT idempotency_key FROM idempotency_keys WHERE expires_at <= $1 AND (status_code IS NOT NULL OR locked_until <= $1) LIMIT $2) AND expires_at <= $1 AND (status_code IS NOT NULL OR locked_until <= $1), with $1 = dedupe.Micros(now) and $2 = limit. (Repeating the conditions outside protects a row taken over between the subquery and the delete, on PostgreSQL.)",
	},
	Reference: solution.Sweep,
	Probe: func(f SweepFunc) {
		s, err := idempotency.OpenTemp(context.Background(), idempotency.SQLite, "")
		if err != nil {
			return
		}
		defer s.Close()
		_, _ = f(context.Background(), s.Querier(), t0, 10)
	},
	Checks: []exercise.Check[SweepFunc]{
		{Name: "expired completed entries are deleted, and counted", Hint: 1, Run: func(t exercise.T, f SweepFunc) {
			sweepCase(t, f, func(n int64, left []string) {
				require.NotContainsf(t, left, "done-expired", "rows left by Sweep(now=t0) with %s", sweepSetup)
				require.Equalf(t, int64(2), n, "Sweep(now=t0) with %s: rows deleted (want done-expired and abandoned)", sweepSetup)
			})
		}},
		{Name: "entries that have not expired are kept", Hint: 1, Run: func(t exercise.T, f SweepFunc) {
			sweepCase(t, f, func(n int64, left []string) {
				require.Containsf(t, left, "done-fresh", "rows left by Sweep(now=t0) with %s", sweepSetup)
				require.Containsf(t, left, "fresh-in-flight", "rows left by Sweep(now=t0) with %s", sweepSetup)
			})
		}},
		{Name: "an entry in flight under a live lease is kept, even past its expiry", Hint: 2, Run: func(t exercise.T, f SweepFunc) {
			sweepCase(t, f, func(n int64, left []string) {
				require.Containsf(t, left, "live", "rows left by Sweep(now=t0) with %s: deleting \"live\" lets a retry process its request a second time", sweepSetup)
			})
		}},
		{Name: "an abandoned claim (lease and TTL both over) is deleted", Hint: 2, Run: func(t exercise.T, f SweepFunc) {
			sweepCase(t, f, func(n int64, left []string) {
				require.NotContainsf(t, left, "abandoned", "rows left by Sweep(now=t0) with %s: a crashed server's claim must not stay forever", sweepSetup)
			})
		}},
		{Name: "at most limit rows go per call, and the count is exact", Hint: 3, Run: func(t exercise.T, f SweepFunc) {
			withStore(t, func(s *idempotency.Store) {
				var rows []row
				for i := range 25 {
					rows = append(rows, row{key: fmt.Sprint("old-", i), expires: -time.Minute})
				}
				insertRows(t, s, rows)
				for i, want := range []int64{10, 10, 5, 0} {
					n, err := f(context.Background(), s.Querier(), t0, 10)
					require.NoErrorf(t, err, "Sweep(limit=10), call %d on 25 expired rows", i+1)
					require.Equalf(t, want, n, "Sweep(limit=10), call %d on 25 expired rows: rows deleted", i+1)
				}
				st, err := s.Stats(context.Background())
				require.NoErrorf(t, err, "reading the table")
				require.Zerof(t, st.Rows, "rows left after four Sweep(limit=10) calls on 25 expired rows")
			})
		}},
		{Name: "a limit below 1, or no database, is an error", Hint: 1, Run: func(t exercise.T, f SweepFunc) {
			withStore(t, func(s *idempotency.Store) {
				insertRows(t, s, []row{{key: "done-expired", expires: -time.Minute}})
				for _, limit := range []int{0, -5} {
					_, err := f(context.Background(), s.Querier(), t0, limit)
					require.Errorf(t, err, "Sweep(limit=%d) returned no error", limit)
				}
				require.Containsf(t, keys(t, s), "done-expired", "rows left after Sweep(limit=0) (it must delete nothing)")
				_, err := f(context.Background(), nil, t0, 10)
				require.Errorf(t, err, "Sweep with a nil database returned no error")
			})
		}},
	},
})

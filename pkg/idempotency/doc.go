// Package idempotency is a real, reusable idempotency-key component for
// HTTP APIs, and the event ingestion API that notebooks/03-idempotency.ipynb
// experiments with.
//
// Clients send an Idempotency-Key header (a UUID per logical request, the
// same on every retry). The [Middleware] keeps one row per key in a dedupe
// table (see package dedupe for its columns), claims the key atomically
// with INSERT ... ON CONFLICT DO NOTHING, runs the handler, and stores its
// response in the same transaction as the handler's own writes; retries get
// the stored response back instead of a second effect. Its behaviour where
// the interview answer is silent follows the IETF draft "The Idempotency-Key
// HTTP Header Field" and Stripe's API:
//
//   - a missing or malformed key: 400; a key over 255 characters: 400;
//   - the same key with a different request (body, path or method): 422;
//   - a retry while the first request is still processing: 409 with
//     Retry-After, or, with the [Wait] policy, a wait for its result;
//   - a request that failed before producing a result (5xx, 408, 429, a
//     panic, a crash): its claim is released (or, after a crash, its lease
//     runs out), so a retry runs it afresh; unless its handler recorded a
//     recovery point ([Checkpoint]) before calling outside the database:
//     then the claim is kept and the retry resumes from it ([Recovered]);
//   - keys expire after a TTL; a [Sweeper] deletes them in the background,
//     never one still in flight.
//
// The [Store] runs on SQLite (embedded, pure Go) or PostgreSQL (by URL),
// through one database/sql code path with $1 placeholders. The [Client]
// retries with jittered exponential backoff and per-attempt timeouts, and
// the [Faults] transport injects lost requests, lost responses and timeouts
// in front of a real server, repeatably (a seed decides each attempt's
// fate).
//
// The three steps that matter (claim-or-replay, the request hash, the TTL
// sweep) are the chapter's exercises; the reference solutions in
// solutions/idempotency are the defaults, and [Options] and
// [SweeperConfig] take yours.
package idempotency

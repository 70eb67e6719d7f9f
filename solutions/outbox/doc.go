// Package outbox holds the reference solutions of notebook 09's
// exercises (end-to-end exactly-once with a transactional outbox): the
// ingest's write (outbox/write), the downstream's idempotent apply
// (outbox/apply) and the log-based relay's confirm position
// (outbox/confirm). Package outbox runs them; package outbox/drill
// checks a learner's versions against them.
package outbox

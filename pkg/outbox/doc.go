// Package outbox is end-to-end exactly-once from a Kafka topic to
// PostgreSQL and on to another Kafka topic, the way the transactional
// outbox pattern does it (chapter 09, "Hard 1").
//
// A Kafka transaction covers only Kafka: it cannot also commit a row in
// PostgreSQL. The outbox pattern makes the database the one place where
// the decision is taken. For each input record, one database transaction
//
//   - records the input's topic, partition and offset in an inbox table
//     (a second delivery of the same record finds it and does nothing),
//   - upserts the business row (the order, enriched with reference data),
//   - inserts the event to publish into the outbox table;
//
// and only after COMMIT does the consumer commit its Kafka offset. A relay
// then copies committed outbox rows to the output topic, keyed by the
// aggregate id so that one aggregate's events stay in order in one
// partition, with the idempotent producer. It confirms its progress only
// after the broker acknowledged every event up to it, so a relay that
// dies re-publishes, never skips: the output topic is at-least-once, and
// the event id in each record's header lets a downstream consumer (with
// its own inbox table) apply each event exactly once.
//
// Two relays are here. LogRelay reads the outbox's inserts from the
// write-ahead log through logical replication (package cdc: pgoutput, a
// publication, a replication slot whose confirmed position is advanced
// only after the broker's acknowledgement), which is what Debezium's
// outbox event router does. PollRelay selects unpublished rows in batches
// (FOR UPDATE SKIP LOCKED on PostgreSQL), publishes them and marks them
// published in the same transaction; it also runs on SQLite.
//
// Every component takes a Crash: at a named Point it can die as a
// process would, its connections abandoned and its memory lost. Run
// drives the ingest consumer, a relay and the downstream consumer through
// one seeded interleaving with one crash, restarts what died, and Check
// states the invariants on what ended up in the database and the topics.
package outbox

// Package eos runs a Kafka read-process-write pipeline under each delivery
// mode, crashes it at named points, and checks what downstream consumers
// see.
//
// The pipeline consumes an input topic whose records carry a key and a
// per-key sequence number, enriches each record, and writes the result to
// an output topic (or, in IdempotentSink mode, to a SQL table). Where it
// commits its consumer offsets relative to its output decides what a crash
// does:
//
//   - AtMostOnce commits the offsets of a batch before producing it: a crash
//     in between loses the batch.
//   - AtLeastOnce commits after producing: a crash in between reprocesses
//     the batch on restart, and the output holds it twice.
//   - IdempotentProducer is AtLeastOnce with enable.idempotence: the broker
//     drops a producer's retried batches (same producer id, epoch and
//     sequence), but a restarted pipeline is a new producer reprocessing
//     old input, so its duplicates remain.
//   - IdempotentSink writes the output rows and the next offsets to consume
//     in one database transaction, under a unique key, and reads the
//     offsets back from the database on restart: effectively-once into the
//     database.
//   - Transactional puts the output records and the consumer offsets in one
//     Kafka transaction (KIP-98; franz-go's GroupTransactSession, which
//     also fences on rebalance as KIP-447 describes). A crash before the
//     commit leaves an open transaction that the restarted instance, with
//     the same transactional.id, fences and aborts. read_committed consumers
//     never see the aborted records; read_uncommitted ones do.
//
// Check classifies what a consumer of the output saw in the terms of
// Jepsen's Kafka workload (jepsen/tests/kafka.clj): lost writes, duplicates,
// aborted reads, non-monotonic offsets within a partition, and records of a
// key read out of sequence order. RunSchedule runs one mode with one crash
// and returns its verdict; Matrix runs every mode x crash point x seed.
package eos

// Package session simulates a multi-region store with one primary and
// asynchronously replicated replicas, and checks the session guarantees of
// its clients: read-your-writes, monotonic reads, monotonic writes and
// writes-follow-reads (Terry et al., 1994). It backs notebook
// 02-read-your-writes.
//
// # The model
//
// The primary (Config.Replicas[0]) gives every write the next position in
// its log (its LSN, which histories call the write's version), applies it,
// acknowledges it, and ships it to every other replica over the simulated
// network of pkg/sim (region-to-region latencies, FIFO links). A replica
// applies entries in log order, each after the replication lag
// (Config.Lag, or Config.ReplicaLag per replica). Replicas report their
// received and applied positions to a router in each client region by
// heartbeat; a replica silent for Config.SuspectAfter, or one that timed
// out a request, is believed down until it is heard from again.
//
// Sessions (clients) in Config.ClientRegions read and write their own keys
// and a few shared ones, one operation at a time, and keep their guarantees
// with a [Strategy]: [None], [Sticky], [Token] (a write token routed by a
// [RouteFunc]), [Cache] or [PrimaryAfterWrite]. [Crash] takes a replica
// down, either refusing connections (the client retries once elsewhere) or
// unreachable (requests time out); it catches up from the primary when it
// comes back.
//
// # Histories and checkers
//
// Every run yields a [History]: each operation with its session, key,
// version, the replica that served it, its times and its error. [Check]
// runs the four guarantee checkers over it; the read-your-writes checker
// is passed in (the chapter's exercise, or the reference in
// solutions/session), so the same experiment runs with a learner's code,
// the reference, or a known-bad checker.
//
// # Determinism
//
// A run is a function of its Config: the seed fixes every random draw, and
// each session draws its operations, its pauses and its routing choices
// from separate streams, so every strategy serves the same operations in
// the same order. [RunAll] runs configurations in parallel and returns the
// same outcomes as running them one by one.
//
// A 10,000-operation run over five replicas simulates in about 0.1 s and
// checks in about 0.01 s (BenchmarkSimulate10kOps, BenchmarkCheck10kOps).
package session

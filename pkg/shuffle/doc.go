// Package shuffle simulates one Spark job, stage by stage and task by
// task, to show where a long tail of slow tasks comes from and what each
// fix does to it; Diagnose reads task metrics, simulated or real, and ranks
// the causes.
//
// The model follows Spark's own structure (the Spark documentation's
// "Job Scheduling" and "Tuning" pages, and the AQE rules as
// sql/core/.../adaptive/OptimizeSkewedJoin.scala and
// ShufflePartitionsUtil.scala state them):
//
//   - A job is a DAG of stages cut at shuffle boundaries. Each stage runs
//     one task per partition on executor cores (slots).
//   - A map task writes its shuffle output, one block per reduce partition,
//     to its executor's local disk; a reduce task fetches its block from
//     every map task. If an executor dies its blocks are gone, unless an
//     external shuffle service on the host keeps serving them: the reduce
//     side sees FetchFailed and the lost map tasks run again.
//   - A task's time is deserialisation + compute (records x per-record
//     cost, scaled by its host's speed) + GC (grows with heap pressure) +
//     spill (when its data exceeds its share of execution memory) + fetch
//     wait (remote shuffle bytes the network could not deliver while the
//     task computed) + writing its own shuffle output.
//
// Everything is virtual time and seeded: the same Config gives the same
// Result, task by task, on every machine. Real Spark runs the same jobs
// through pkg/spark; TaskMetrics is the one type both report.
package shuffle

// Package history holds what a checker of a Kafka pipeline's output needs:
// what went into the input topic, what a consumer read from the output,
// which transactions were aborted, and the report of anomalies in the terms
// of Jepsen's Kafka workload (jepsen/tests/kafka.clj). The checker itself is
// exercise eos/check (solutions/eos.Check); package eos runs it.
package history

import "fmt"

// Input is one record of the input topic: a key and its per-key sequence
// number (0, 1, 2, ... for each key).
type Input struct {
	Key string
	Seq int
}

// Read is one output record as a downstream consumer saw it, in the order
// it saw them.
type Read struct {
	Partition int32
	Offset    int64
	Key       string
	Seq       int
	// Writer names the pipeline instance and transaction that produced the
	// record, like "w1/t7" (header "writer"); empty outside transactions.
	Writer string
}

// History is what a checker needs: what went in, which writers are known to
// have aborted, and what a consumer read out.
type History struct {
	Inputs []Input
	// Aborted holds the Writer names of transactions that were aborted
	// (explicitly, or fenced after a crash): a read of one of their records
	// is an aborted read.
	Aborted map[string]bool
	Reads   []Read
}

// Report counts the anomalies of one History, Jepsen's names in brackets.
type Report struct {
	Inputs, Reads int
	// Lost counts inputs never read [lost-write, unseen].
	Lost int
	// Duplicated counts reads beyond the first of the same key and seq
	// [duplicate].
	Duplicated int
	// AbortedReads counts reads of records written by an aborted
	// transaction [aborted-read].
	AbortedReads int
	// NonMonotonic counts reads whose offset is not above the previous
	// read's in the same partition [nonmonotonic-poll].
	NonMonotonic int
	// Reordered counts first reads of a key's seq that came after a higher
	// seq of the same key had been read (a duplicate re-read is counted as
	// a duplicate, not here).
	Reordered int
	// Unexpected counts reads of a key and seq that never went in.
	Unexpected int
	// Examples holds up to 3 examples of each anomaly, for the notebook.
	Examples []string
}

// OK reports whether the history shows exactly-once: nothing lost,
// duplicated, aborted, out of order or invented.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.AbortedReads == 0 &&
		r.NonMonotonic == 0 && r.Reordered == 0 && r.Unexpected == 0
}

// String is a one-line verdict.
func (r Report) String() string {
	if r.OK() {
		return fmt.Sprintf("exactly-once: %d inputs, %d reads, no anomaly", r.Inputs, r.Reads)
	}
	return fmt.Sprintf("%d inputs, %d reads: %d lost, %d duplicated, %d aborted reads, %d non-monotonic, %d reordered, %d unexpected",
		r.Inputs, r.Reads, r.Lost, r.Duplicated, r.AbortedReads, r.NonMonotonic, r.Reordered, r.Unexpected)
}

// CheckFunc is the checker's signature: it classifies the reads of a
// history against its inputs.
type CheckFunc func(h History) Report

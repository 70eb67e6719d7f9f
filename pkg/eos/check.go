package eos

import (
	"fmt"
	"slices"
	"strings"
)

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

// Check classifies the reads of h against its inputs.
func Check(h History) Report {
	r := Report{Inputs: len(h.Inputs), Reads: len(h.Reads)}
	examples := map[string]int{}
	note := func(kind, format string, args ...any) {
		if examples[kind] < 3 {
			examples[kind]++
			r.Examples = append(r.Examples, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	want := make(map[Input]bool, len(h.Inputs))
	for _, in := range h.Inputs {
		want[in] = true
	}
	seen := map[Input]int{}
	lastOffset := map[int32]int64{}
	highest := map[string]int{}
	for _, rd := range h.Reads {
		in := Input{rd.Key, rd.Seq}
		if last, ok := lastOffset[rd.Partition]; ok && rd.Offset <= last {
			r.NonMonotonic++
			note("non-monotonic", "partition %d offset %d after %d", rd.Partition, rd.Offset, last)
		}
		lastOffset[rd.Partition] = rd.Offset
		if rd.Writer != "" && h.Aborted[rd.Writer] {
			r.AbortedReads++
			note("aborted read", "%s#%d written by aborted %s at %d/%d", rd.Key, rd.Seq, rd.Writer, rd.Partition, rd.Offset)
		}
		if !want[in] {
			r.Unexpected++
			note("unexpected", "%s#%d never went in", rd.Key, rd.Seq)
			continue
		}
		seen[in]++
		if seen[in] > 1 {
			r.Duplicated++
			note("duplicate", "%s#%d read %d times (at %d/%d)", rd.Key, rd.Seq, seen[in], rd.Partition, rd.Offset)
			continue
		}
		if hi, ok := highest[rd.Key]; ok && rd.Seq < hi {
			r.Reordered++
			note("reordered", "%s#%d read after %s#%d", rd.Key, rd.Seq, rd.Key, hi)
		}
		highest[rd.Key] = max(highest[rd.Key], rd.Seq)
	}
	var lost []string
	for _, in := range h.Inputs {
		if seen[in] == 0 {
			r.Lost++
			if len(lost) < 3 {
				lost = append(lost, fmt.Sprintf("%s#%d", in.Key, in.Seq))
			}
		}
	}
	if len(lost) > 0 {
		r.Examples = append(r.Examples, "lost: "+strings.Join(lost, ", "))
	}
	slices.Sort(r.Examples)
	return r
}

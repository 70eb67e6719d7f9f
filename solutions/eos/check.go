// Package eos holds the reference solutions of notebooks/06-kafka-exactly-once:
// the checker of a pipeline's output, the transactional step of a
// read-process-write loop, and the idempotent SQL sink.
package eos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dsgym/dsgym/pkg/eos/history"
)

// Check classifies what a consumer of the output read (h.Reads, in the
// order it read them) against what went in (h.Inputs), one count per
// anomaly, with up to three examples of each:
//
//   - Lost: an input never read.
//   - Duplicated: a read of a key and seq already read (every read after
//     the first).
//   - AbortedReads: a read of a record whose Writer is in h.Aborted.
//   - NonMonotonic: a read whose offset is not above the previous read's
//     offset in the same partition.
//   - Reordered: the first read of a key's seq after a higher seq of the
//     same key was read (duplicates are counted as duplicates only).
//   - Unexpected: a read of a key and seq that never went in (not counted
//     as anything else).
//
// An aborted read is counted whatever else the read is: a record of an
// aborted transaction that duplicates a committed one is both.
//
//dsgym:exercise eos/check
func Check(h history.History) history.Report {
	//dsgym:solution
	r := history.Report{Inputs: len(h.Inputs), Reads: len(h.Reads)}
	examples := map[string]int{}
	note := func(kind, format string, args ...any) {
		if examples[kind] < 3 {
			examples[kind]++
			r.Examples = append(r.Examples, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	want := make(map[history.Input]bool, len(h.Inputs))
	for _, in := range h.Inputs {
		want[in] = true
	}
	seen := map[history.Input]int{}
	lastOffset := map[int32]int64{}
	highest := map[string]int{}
	for _, rd := range h.Reads {
		in := history.Input{Key: rd.Key, Seq: rd.Seq}
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
	//dsgym:stub
	// panic("not implemented yet: Check: count lost, duplicated, aborted, non-monotonic, reordered and unexpected reads of h against its inputs")
	//dsgym:end
}

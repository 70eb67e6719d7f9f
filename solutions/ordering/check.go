// Package ordering holds the reference solutions of
// notebooks/08-kafka-ordering: the per-key order checker, the resequencer
// that restores a salted hot key's order, and the partition-count
// calculator.
package ordering

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/ordering/history"
)

// Check judges what consumers delivered (h.Got, in the order they were
// handed to the application) against what producers sent (h.Sent), one
// count per anomaly, with up to three examples of each:
//
//   - NonMonotonic: a delivery whose offset is not above the previous one
//     of the same consumer and partition.
//   - Unexpected: a delivery of an event never sent (counted as nothing
//     else).
//   - Duplicated: a delivery of a key and seq already delivered (every
//     delivery after the first; counted as nothing else).
//   - OutOfOrder: the first delivery of a seq below the highest seq of its
//     key delivered so far.
//   - Gaps: the first delivery of a seq more than one above the highest so
//     far (seqs in between skipped; the first seq of a key is 0).
//   - Lost: an event sent and never delivered.
//
//dsgym:exercise ordering/check
func Check(h history.History) history.Report {
	//dsgym:solution
	r := history.Report{Sent: len(h.Sent), Delivered: len(h.Got)}
	examples := map[string]int{}
	note := func(kind, format string, args ...any) {
		if examples[kind] < 3 {
			examples[kind]++
			r.Examples = append(r.Examples, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	sent := make(map[history.Event]bool, len(h.Sent))
	for _, e := range h.Sent {
		sent[e] = true
	}
	type stream struct {
		consumer  int
		partition int32
	}
	last := map[stream]int64{}
	seen := map[history.Event]int{}
	highest := map[string]int{}
	for _, d := range h.Got {
		s := stream{d.Consumer, d.Partition}
		if prev, ok := last[s]; ok && d.Offset <= prev {
			r.NonMonotonic++
			note("non-monotonic", "consumer %d, partition %d: offset %d after %d", d.Consumer, d.Partition, d.Offset, prev)
		}
		last[s] = d.Offset
		if !sent[d.Event] {
			r.Unexpected++
			note("unexpected", "%v was never sent", d.Event)
			continue
		}
		seen[d.Event]++
		if seen[d.Event] > 1 {
			r.Duplicated++
			note("duplicated", "%v delivered %d times", d.Event, seen[d.Event])
			continue
		}
		hi, ok := highest[d.Key]
		if !ok {
			hi = -1
		}
		switch {
		case d.Seq < hi:
			r.OutOfOrder++
			note("out of order", "%v after %s#%d", d.Event, d.Key, hi)
		case d.Seq > hi+1:
			r.Gaps++
			note("gap", "%v after %s#%d", d.Event, d.Key, hi)
		}
		if d.Seq > hi {
			highest[d.Key] = d.Seq
		}
	}
	for _, e := range h.Sent {
		if seen[e] == 0 {
			r.Lost++
			note("lost", "%v never delivered", e)
		}
	}
	return r
	//dsgym:stub
	// panic("not implemented yet: Check: count lost, duplicated, out-of-order, gap, non-monotonic and unexpected deliveries")
	//dsgym:end
}

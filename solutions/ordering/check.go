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
	// One state per key, its seqs indexed by number (they are small and
	// dense), so that each delivery costs one map lookup: this judges a
	// million deliveries in well under a second.
	keys := map[string]*keyTrack{}
	track := func(key string) *keyTrack {
		k := keys[key]
		if k == nil {
			k = &keyTrack{highest: -1}
			keys[key] = k
		}
		return k
	}
	for _, e := range h.Sent {
		track(e.Key).mark(e.Seq)
	}
	type stream struct {
		consumer  int
		partition int32
	}
	last := map[stream]int64{}
	for _, d := range h.Got {
		s := stream{d.Consumer, d.Partition}
		if prev, ok := last[s]; ok && d.Offset <= prev {
			r.NonMonotonic++
			note("non-monotonic", "consumer %d, partition %d: offset %d after %d", d.Consumer, d.Partition, d.Offset, prev)
		}
		last[s] = d.Offset
		k := keys[d.Key]
		if k == nil || !k.wasSent(d.Seq) {
			r.Unexpected++
			note("unexpected", "%v was never sent", d.Event)
			continue
		}
		k.seen[d.Seq]++
		if n := k.seen[d.Seq]; n > 1 {
			r.Duplicated++
			note("duplicated", "%v delivered %d times", d.Event, n)
			continue
		}
		switch {
		case d.Seq < k.highest:
			r.OutOfOrder++
			note("out of order", "%v after %s#%d", d.Event, d.Key, k.highest)
		case d.Seq > k.highest+1:
			r.Gaps++
			note("gap", "%v after %s#%d", d.Event, d.Key, k.highest)
		}
		k.highest = max(k.highest, d.Seq)
	}
	for _, e := range h.Sent {
		if k := keys[e.Key]; k.seen[e.Seq] == 0 {
			r.Lost++
			note("lost", "%v never delivered", e)
			k.seen[e.Seq] = 1 // a seq sent twice is lost once
		}
	}
	return r
	//dsgym:stub
	// panic("not implemented yet: Check: count lost, duplicated, out-of-order, gap, non-monotonic and unexpected deliveries")
	//dsgym:end
}

//dsgym:solution

// keyTrack is what Check keeps per key: which seqs were sent, how often
// each was delivered, and the highest delivered so far.
//
//dsgym:exercise ordering/check
type keyTrack struct {
	sent    []bool
	seen    []uint32
	highest int
}

// mark records that seq was sent (a negative seq is never valid).
//
//dsgym:exercise ordering/check
func (k *keyTrack) mark(seq int) {
	if seq < 0 {
		return
	}
	for len(k.sent) <= seq {
		k.sent = append(k.sent, false)
		k.seen = append(k.seen, 0)
	}
	k.sent[seq] = true
}

// wasSent reports whether seq was sent.
//
//dsgym:exercise ordering/check
func (k *keyTrack) wasSent(seq int) bool { return seq >= 0 && seq < len(k.sent) && k.sent[seq] }

//dsgym:stub
//dsgym:end

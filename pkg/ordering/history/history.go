// Package history holds what chapter 08's order checker reads: the events
// producers sent, the deliveries consumers made, and the report of what
// went wrong per key and per partition. The checker itself is exercise
// ordering/check (solutions/ordering.Check).
package history

import (
	"fmt"
	"strings"
)

// Event is one event a producer sent: its key (a user id) and the key's
// sequence number, 0, 1, 2, ... in the order the user did things.
type Event struct {
	Key string
	Seq int
}

func (e Event) String() string { return fmt.Sprintf("%s#%d", e.Key, e.Seq) }

// Delivery is one event as a consumer handed it to the application, in the
// order the history lists them (the order of processing).
type Delivery struct {
	Event
	Consumer  int // which consumer delivered it
	Partition int32
	Offset    int64
}

// History is what one run sent and delivered.
type History struct {
	Sent []Event
	Got  []Delivery
}

// Report counts a history's anomalies, with the Maelstrom kafka checker's
// names in brackets where one applies (jepsen-io/maelstrom,
// src/maelstrom/workload/kafka.clj).
type Report struct {
	Sent, Delivered int
	// Lost counts events sent and never delivered [lost-write, unobserved].
	Lost int
	// Duplicated counts deliveries of a key and seq beyond the first.
	Duplicated int
	// OutOfOrder counts first deliveries of a seq that came after a
	// higher seq of the same key [external nonmonotonic].
	OutOfOrder int
	// Gaps counts first deliveries that skipped over seqs of their key
	// not delivered yet: seq s delivered when the highest so far was
	// below s-1 [skip]. The skipped events are counted again where they
	// end: late (OutOfOrder) or never (Lost).
	Gaps int
	// NonMonotonic counts deliveries whose offset is not above the
	// previous one of the same consumer and partition [internal
	// nonmonotonic].
	NonMonotonic int
	// Unexpected counts deliveries of an event that was never sent.
	Unexpected int
	// Examples names a few of the anomalies, for a reader.
	Examples []string
}

// InOrder reports whether every key was delivered completely, once, and
// in order.
func (r Report) InOrder() bool {
	return r.Lost+r.Duplicated+r.OutOfOrder+r.Gaps+r.NonMonotonic+r.Unexpected == 0
}

func (r Report) String() string {
	if r.InOrder() {
		return fmt.Sprintf("in order: %d sent, %d delivered, no anomaly", r.Sent, r.Delivered)
	}
	var parts []string
	for _, c := range []struct {
		n    int
		name string
	}{{r.Lost, "lost"}, {r.Duplicated, "duplicated"}, {r.OutOfOrder, "out of order"}, {r.Gaps, "gaps"}, {r.NonMonotonic, "non-monotonic"}, {r.Unexpected, "unexpected"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	return fmt.Sprintf("%d sent, %d delivered: %s", r.Sent, r.Delivered, strings.Join(parts, ", "))
}

// CheckFunc is the checker's signature (exercise ordering/check).
type CheckFunc func(History) Report

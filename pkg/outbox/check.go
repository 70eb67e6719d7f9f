package outbox

import (
	"fmt"
	"strings"
)

// History is everything a run left behind, as the checker reads it.
type History struct {
	// Inputs are the records written to the input topic.
	Inputs []Order
	// Regions is the reference data: each customer's region.
	Regions map[string]string
	// Orders are the business rows in the database.
	Orders []OrderRow
	// Rejected are the input positions the ingest rejected, with why.
	Rejected map[Position]string
	// Published are the output topic's records, in offset order within
	// each partition.
	Published []Published
	// Applied is the downstream's applied log, in the order applied.
	Applied []AppliedRow
	// Totals are the downstream's per-customer totals.
	Totals map[string]Total
}

// Position is an input record's place in its topic.
type Position struct {
	Partition int32
	Offset    int64
}

// OrderRow is one row of the orders table.
type OrderRow struct {
	ID, Customer, Region, EventID string
	Amount                        int64
	Applied                       int
}

// Published is one record of the output topic.
type Published struct {
	Partition int32
	Offset    int64
	EventID   string
	Event     Event
}

// AppliedRow is one downstream application of an event.
type AppliedRow struct {
	EventID, Customer string
}

// Total is a customer's downstream totals.
type Total struct {
	Orders, Amount int64
}

// Report is the checker's verdict. Every count is a violation except
// Published, PublishedDuplicates and Rejected, which are measurements.
type Report struct {
	Inputs, Valid, Rejected int
	// Lost counts valid inputs without an order row; DuplicateEffects
	// counts upserts beyond the first (orders.applied - 1, summed);
	// Wrong counts order rows that do not match their input or its
	// enrichment, and rows no input explains.
	Lost, DuplicateEffects, Wrong int
	// Unpublished counts committed orders whose event is on no output
	// record; Phantom counts output records whose event id no committed
	// order row carries (published but never committed, or superseded
	// by a second write of the order).
	Unpublished, Phantom int
	// OutOfOrder counts events published, for their customer, after an
	// event of a later order (first publications only).
	OutOfOrder int
	// Published counts output records; PublishedDuplicates those beyond
	// the first for their event id (at-least-once: allowed, counted).
	Published, PublishedDuplicates int
	// DownstreamLost and DownstreamDuplicates compare the downstream's
	// applied log with the committed orders; DownstreamOutOfOrder counts
	// applications after a later order of the same customer;
	// WrongTotals counts customers whose totals differ from their
	// orders'.
	DownstreamLost, DownstreamDuplicates, DownstreamOutOfOrder, WrongTotals int
}

// OK reports whether every invariant held.
func (r Report) OK() bool { return len(r.Violations()) == 0 }

// Violations states each broken invariant as a sentence.
func (r Report) Violations() []string {
	var v []string
	add := func(n int, format string) {
		if n > 0 {
			v = append(v, fmt.Sprintf(format, n))
		}
	}
	add(r.Lost, "%d input orders have no row in the database (lost)")
	add(r.DuplicateEffects, "%d input orders were applied more than once in the database")
	add(r.Wrong, "%d order rows do not match their input or its enrichment")
	add(r.Unpublished, "%d committed orders were never published")
	add(r.Phantom, "%d published events belong to no committed order (never committed, or replaced by a second write of the order)")
	add(r.OutOfOrder, "%d events were published after a later order of the same customer")
	add(r.DownstreamLost, "%d committed orders never took effect downstream")
	add(r.DownstreamDuplicates, "%d events took effect downstream more than once")
	add(r.DownstreamOutOfOrder, "%d events took effect downstream after a later order of the same customer")
	add(r.WrongTotals, "%d customers' downstream totals differ from their orders")
	return v
}

// String is the verdict in one line.
func (r Report) String() string {
	head := fmt.Sprintf("%d inputs (%d rejected), %d published (%d duplicates)", r.Inputs, r.Rejected, r.Published, r.PublishedDuplicates)
	if v := r.Violations(); len(v) > 0 {
		return head + ": " + strings.Join(v, "; ")
	}
	return head + ": exactly-once effects, every commit published in order, no phantom"
}

// Check states the pipeline's invariants on a history:
//
//  1. every valid input's effect is committed exactly once in the
//     database (no loss, no second upsert), with its enrichment;
//  2. every committed order's event is published at least once, and
//     nothing is published that was not committed;
//  3. for each customer, events are first published in the order the
//     orders were placed;
//  4. downstream, every committed event takes effect exactly once, in
//     that order, and the totals agree.
func Check(h History) Report {
	rep := Report{Inputs: len(h.Inputs), Rejected: len(h.Rejected), Published: len(h.Published)}
	index := map[string]int{} // order id -> input index
	inputs := map[string]Order{}
	for i, in := range h.Inputs {
		if _, bad := h.Rejected[Position{in.Partition, in.Offset}]; bad || in.Customer == "" {
			continue
		}
		rep.Valid++
		index[in.ID] = i
		inputs[in.ID] = in
	}
	rows := map[string]OrderRow{}
	events := map[string]string{} // committed event id -> order id
	for _, o := range h.Orders {
		rows[o.ID] = o
		events[o.EventID] = o.ID
		in, ok := inputs[o.ID]
		if !ok || in.Customer != o.Customer || in.Amount != o.Amount || h.Regions[o.Customer] != o.Region {
			rep.Wrong++
		}
		if o.Applied > 1 {
			rep.DuplicateEffects += o.Applied - 1
		}
	}
	for id := range inputs {
		if _, ok := rows[id]; !ok {
			rep.Lost++
		}
	}
	// Publication: first occurrences per event id, in offset order per
	// partition (one customer's events share a partition).
	seen := map[string]bool{}
	latest := map[string]int{} // customer -> highest input index published
	for _, p := range h.Published {
		if seen[p.EventID] {
			rep.PublishedDuplicates++
			continue
		}
		seen[p.EventID] = true
		order, ok := events[p.EventID]
		if !ok {
			rep.Phantom++
			continue
		}
		if i, ok := index[order]; ok {
			if last, ok := latest[p.Event.Customer]; ok && i < last {
				rep.OutOfOrder++
			}
			latest[p.Event.Customer] = max(latest[p.Event.Customer], i)
		}
	}
	for ev := range events {
		if !seen[ev] {
			rep.Unpublished++
		}
	}
	// Downstream.
	applied := map[string]int{}
	latest = map[string]int{}
	want := map[string]Total{}
	for _, o := range h.Orders {
		t := want[o.Customer]
		t.Orders++
		t.Amount += o.Amount
		want[o.Customer] = t
	}
	for _, a := range h.Applied {
		applied[a.EventID]++
		if applied[a.EventID] > 1 {
			rep.DownstreamDuplicates++
			continue
		}
		if i, ok := index[events[a.EventID]]; ok {
			if last, ok := latest[a.Customer]; ok && i < last {
				rep.DownstreamOutOfOrder++
			}
			latest[a.Customer] = max(latest[a.Customer], i)
		}
	}
	for ev := range events {
		if applied[ev] == 0 {
			rep.DownstreamLost++
		}
	}
	for c, t := range want {
		if h.Totals[c] != t {
			rep.WrongTotals++
		}
	}
	for c := range h.Totals {
		if _, ok := want[c]; !ok {
			rep.WrongTotals++
		}
	}
	return rep
}

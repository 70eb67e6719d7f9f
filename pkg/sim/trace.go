package sim

import (
	"fmt"
	"strings"
	"time"
)

// EventKind says what a trace event records.
type EventKind string

// The kinds of trace event.
const (
	Sent      EventKind = "send"
	Delivered EventKind = "deliver"
	Lost      EventKind = "lost"
	Crashed   EventKind = "crash"
	Restarted EventKind = "restart"
	Noted     EventKind = "note"
)

// Event is one entry of a trace.
type Event struct {
	At   Time
	Kind EventKind
	From NodeID
	To   NodeID
	Msg  string
	Note string
}

// Trace is a recorded run: the messages, crashes and notes, in order.
type Trace struct {
	Events  []Event
	Omitted int
	max     int
}

func (t *Trace) add(e Event) {
	if t.max > 0 && len(t.Events) >= t.max {
		t.Omitted++
		return
	}
	t.Events = append(t.Events, e)
}

// MermaidOptions tune a sequence diagram.
type MermaidOptions struct {
	// Participants fixes the order of the lifelines (default: first seen).
	Participants []NodeID
	// ShowSends draws an arrow when a message is sent rather than when it
	// arrives (lost messages are drawn either way).
	ShowSends bool
	// Times prefixes each arrow with its virtual time.
	Times bool
}

// Mermaid renders the trace as a Mermaid sequence diagram (JupyterLab draws
// Mermaid in Markdown cells and outputs). Delivered messages are solid
// arrows, lost ones end in a cross, crashes and restarts are notes.
func (t *Trace) Mermaid(opts MermaidOptions) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	seen := map[NodeID]bool{}
	for _, p := range opts.Participants {
		seen[p] = true
		fmt.Fprintf(&b, "    participant %s\n", mermaidID(p))
	}
	for _, e := range t.Events {
		for _, id := range []NodeID{e.From, e.To} {
			if id != "" && !seen[id] {
				seen[id] = true
				fmt.Fprintf(&b, "    participant %s\n", mermaidID(id))
			}
		}
	}
	stamp := func(e Event) string {
		if !opts.Times {
			return ""
		}
		return fmt.Sprintf("[%s] ", formatTime(e.At))
	}
	for _, e := range t.Events {
		switch e.Kind {
		case Delivered:
			if !opts.ShowSends {
				fmt.Fprintf(&b, "    %s->>%s: %s%s\n", mermaidID(e.From), mermaidID(e.To), stamp(e), mermaidText(e.Msg))
			}
		case Sent:
			if opts.ShowSends {
				fmt.Fprintf(&b, "    %s->>%s: %s%s\n", mermaidID(e.From), mermaidID(e.To), stamp(e), mermaidText(e.Msg))
			}
		case Lost:
			fmt.Fprintf(&b, "    %s-x%s: %s%s (%s)\n", mermaidID(e.From), mermaidID(e.To), stamp(e), mermaidText(e.Msg), e.Note)
		case Crashed:
			fmt.Fprintf(&b, "    Note over %s: %scrash\n", mermaidID(e.From), stamp(e))
		case Restarted:
			fmt.Fprintf(&b, "    Note over %s: %srestart\n", mermaidID(e.From), stamp(e))
		case Noted:
			if e.From == "" {
				if len(opts.Participants) > 0 || len(seen) > 0 {
					first, last := bounds(opts.Participants, seen, t.Events)
					fmt.Fprintf(&b, "    Note over %s,%s: %s%s\n", mermaidID(first), mermaidID(last), stamp(e), mermaidText(e.Note))
				}
			} else {
				fmt.Fprintf(&b, "    Note over %s: %s%s\n", mermaidID(e.From), stamp(e), mermaidText(e.Note))
			}
		}
	}
	if t.Omitted > 0 {
		first, _ := bounds(opts.Participants, seen, t.Events)
		fmt.Fprintf(&b, "    Note over %s: ... %d more events not recorded\n", mermaidID(first), t.Omitted)
	}
	return b.String()
}

func bounds(parts []NodeID, seen map[NodeID]bool, events []Event) (NodeID, NodeID) {
	order := append([]NodeID(nil), parts...)
	in := map[NodeID]bool{}
	for _, p := range parts {
		in[p] = true
	}
	for _, e := range events {
		for _, id := range []NodeID{e.From, e.To} {
			if id != "" && !in[id] {
				in[id] = true
				order = append(order, id)
			}
		}
	}
	if len(order) == 0 {
		return "sim", "sim"
	}
	return order[0], order[len(order)-1]
}

func mermaidID(id NodeID) string {
	r := strings.NewReplacer(" ", "_", "-", "_", ":", "_", ";", "_", ",", "_")
	return r.Replace(string(id))
}

func mermaidText(s string) string {
	r := strings.NewReplacer(";", ",", "#", "", "\n", " ")
	return r.Replace(s)
}

func formatTime(t Time) string {
	switch {
	case t < time.Millisecond:
		return t.String()
	case t < time.Second:
		return fmt.Sprintf("%.1fms", float64(t)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3fs", t.Seconds())
	}
}

package outbox

import (
	"fmt"
	"strings"
	"sync"
)

// TraceStep is one message of a traced run: an arrow from one
// participant to another, or a note over one (a crash, a restart).
type TraceStep struct {
	From, To string // participants: In, I, DB, R, Out, D
	Msg      string
	// Note is a note over From (To is empty); Crash marks the crash.
	Note, Crash bool
}

// tracer records a run's steps. A nil tracer records nothing.
type tracer struct {
	mu    sync.Mutex
	steps []TraceStep
}

func (t *tracer) add(from, to, format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, TraceStep{From: from, To: to, Msg: fmt.Sprintf(format, args...)})
}

func (t *tracer) note(over string, crash bool, format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, TraceStep{From: over, Msg: fmt.Sprintf(format, args...), Note: true, Crash: crash})
}

// participants are the diagram's lifelines, in order.
var participants = [][2]string{
	{"In", "input topic"}, {"I", "ingest"}, {"DB", "database"}, {"R", "relay"}, {"Out", "output topic"}, {"D", "downstream"},
}

// Diagram draws steps as a Mermaid sequence diagram. With more than max
// steps it keeps the decisive part, the window of window steps around
// the crash (or the start, without one), and folds the rest into notes
// that say how many steps they hide.
func Diagram(steps []TraceStep, max, window int) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	for _, p := range participants {
		fmt.Fprintf(&b, "    participant %s as %s\n", p[0], p[1])
	}
	keep := make([]bool, len(steps))
	if len(steps) <= max {
		for i := range keep {
			keep[i] = true
		}
	} else {
		center := 0
		for i, s := range steps {
			if s.Crash {
				center = i
				break
			}
		}
		lo, hi := center-window/3, center+window-window/3
		for i := range steps {
			keep[i] = i < 4 || (i >= lo && i < hi) || i >= len(steps)-3
		}
	}
	for i := 0; i < len(steps); i++ {
		if !keep[i] {
			j := i
			for j < len(steps) && !keep[j] {
				j++
			}
			fmt.Fprintf(&b, "    Note over In,D: ... %d more steps ...\n", j-i)
			i = j - 1
			continue
		}
		s := steps[i]
		msg := strings.NewReplacer(";", ",", "#", "no. ", "\n", " ").Replace(s.Msg)
		switch {
		case s.Crash:
			fmt.Fprintf(&b, "    Note over %s: CRASH %s\n", s.From, msg)
		case s.Note:
			fmt.Fprintf(&b, "    Note over %s: %s\n", s.From, msg)
		default:
			fmt.Fprintf(&b, "    %s->>%s: %s\n", s.From, s.To, msg)
		}
	}
	return b.String()
}

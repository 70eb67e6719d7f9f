package causal

import "fmt"

// Event is one write, stamped at its origin region with a vector clock
// that counts it: Clock.At(origin) is its sequence number at the origin.
type Event struct {
	ID     string
	Origin int
	Clock  VC
}

// Deliverable is the causal delivery rule at a region whose applied clock
// is applied: e is the next event of its origin (Clock[origin] is exactly
// applied[origin]+1) and every event of the other regions that e depends
// on has been applied (Clock[r] <= applied[r]).
func Deliverable(e Event, applied VC) bool {
	for i := range applied.v {
		if i == e.Origin {
			if e.Clock.v[i] != applied.v[i]+1 {
				return false
			}
		} else if e.Clock.v[i] > applied.v[i] {
			return false
		}
	}
	return true
}

// Buffer is a region's causal delivery buffer: events arrive in any order
// and leave in an order that respects happened-before.
type Buffer struct {
	applied VC
	pending []Event
	// Held is the most events the buffer held at once.
	Held int
}

// NewBuffer makes a buffer for a region that has applied nothing.
func NewBuffer(s *Space) *Buffer { return &Buffer{applied: s.Zero()} }

// Applied is the clock of everything the buffer released.
func (b *Buffer) Applied() VC { return b.applied }

// Pending is how many events wait for their dependencies.
func (b *Buffer) Pending() int { return len(b.pending) }

// Local records an event of the buffer's own region, applied where it
// was written, and returns the remote events it unblocks.
func (b *Buffer) Local(e Event) ([]Event, error) { return b.Receive(e) }

// Receive takes an event and returns those it releases, in a causal
// order: e if its dependencies are met, then whatever waited on it. An
// event already applied (a duplicate) is dropped.
func (b *Buffer) Receive(e Event) ([]Event, error) {
	if e.Clock.space != b.applied.space {
		return nil, ErrSpaces
	}
	if e.Origin < 0 || e.Origin >= len(b.applied.v) {
		return nil, fmt.Errorf("causal: event %s has origin %d outside the space", e.ID, e.Origin)
	}
	if e.Clock.v[e.Origin] <= b.applied.v[e.Origin] {
		return nil, nil // applied already
	}
	b.pending = append(b.pending, e)
	b.Held = max(b.Held, len(b.pending))
	var out []Event
	for progress := true; progress; {
		progress = false
		for i := 0; i < len(b.pending); i++ {
			p := b.pending[i]
			if !Deliverable(p, b.applied) {
				continue
			}
			b.applied.v[p.Origin] = p.Clock.v[p.Origin]
			out = append(out, p)
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			i--
			progress = true
		}
	}
	return out, nil
}

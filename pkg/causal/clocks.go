package causal

import (
	"errors"
	"time"
)

// Lamport is a Lamport clock: one counter, incremented by every local
// event and raised past every timestamp received. a -> b implies
// L(a) < L(b); the converse does not hold, which is why it cannot tell
// concurrent events from ordered ones.
type Lamport struct{ t uint64 }

// Tick stamps a local event (or a send).
func (l *Lamport) Tick() uint64 { l.t++; return l.t }

// Recv stamps the receipt of a message stamped t.
func (l *Lamport) Recv(t uint64) uint64 { l.t = max(l.t, t) + 1; return l.t }

// HLCTime is a hybrid logical clock timestamp: L is the largest physical
// time (ns) the node has heard of, C counts events within one L.
type HLCTime struct {
	L int64
	C uint32
}

// Less orders HLC timestamps lexicographically.
func (a HLCTime) Less(b HLCTime) bool { return a.L < b.L || (a.L == b.L && a.C < b.C) }

// HLC is a hybrid logical clock (Kulkarni et al. 2014) over an injected
// physical clock: timestamps stay within the clocks' skew of physical
// time, respect happened-before like a Lamport clock, and fit in 64+32
// bits whatever the number of regions.
type HLC struct {
	now  func() time.Time
	last HLCTime
}

// NewHLC makes an HLC reading physical time from now.
func NewHLC(now func() time.Time) (*HLC, error) {
	if now == nil {
		return nil, errors.New("causal: an HLC needs a physical clock")
	}
	return &HLC{now: now}, nil
}

// Now stamps a local event or a send.
func (h *HLC) Now() HLCTime {
	pt := h.now().UnixNano()
	if pt > h.last.L {
		h.last = HLCTime{L: pt}
	} else {
		h.last.C++
	}
	return h.last
}

// Update stamps the receipt of a message stamped m.
func (h *HLC) Update(m HLCTime) HLCTime {
	pt := h.now().UnixNano()
	l := max(h.last.L, m.L, pt)
	var c uint32
	switch {
	case l == h.last.L && l == m.L:
		c = max(h.last.C, m.C) + 1
	case l == h.last.L:
		c = h.last.C + 1
	case l == m.L:
		c = m.C + 1
	}
	h.last = HLCTime{L: l, C: c}
	return h.last
}

// Token is a session token for read-your-writes across regions: the
// vector clock of everything the session wrote or read. A region may
// serve the session's read only once its applied clock dominates the
// token (Cosmos DB's session consistency works this way with its own
// tokens).
type Token struct{ VC }

// Observe folds an event's clock into the token.
func (t Token) Observe(c VC) (Token, error) {
	if t.space == nil {
		return Token{c}, nil
	}
	m, err := Merge(t.VC, c)
	return Token{m}, err
}

// ServableAt reports whether a region whose applied clock is applied can
// serve the session without going back in time.
func (t Token) ServableAt(applied VC) bool { return t.space == nil || applied.Dominates(t.VC) }

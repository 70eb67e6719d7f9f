package causal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Order is how two vector clocks relate.
type Order int

// The four answers of Compare.
const (
	Equal Order = iota
	Before
	After
	Concurrent
)

func (o Order) String() string {
	return [...]string{"equal", "happened before", "happened after", "concurrent"}[o]
}

// Space is the fixed, ordered set of regions vector clocks are indexed by.
// Clocks from different spaces cannot be compared.
type Space struct {
	regions []string
	index   map[string]int
}

// NewSpace makes a space of distinct, non-empty region names.
func NewSpace(regions ...string) (*Space, error) {
	if len(regions) == 0 {
		return nil, errors.New("causal: a space needs at least one region")
	}
	s := &Space{regions: slices.Clone(regions), index: map[string]int{}}
	for i, r := range regions {
		if r == "" {
			return nil, errors.New("causal: a region name is empty")
		}
		if _, dup := s.index[r]; dup {
			return nil, fmt.Errorf("causal: region %q appears twice", r)
		}
		s.index[r] = i
	}
	return s, nil
}

// Regions returns the space's regions, in order.
func (s *Space) Regions() []string { return slices.Clone(s.regions) }

// Index returns the position of region r, or an error for a region the
// space does not know.
func (s *Space) Index(r string) (int, error) {
	i, ok := s.index[r]
	if !ok {
		return 0, fmt.Errorf("causal: unknown region %q (the space has %s)", r, strings.Join(s.regions, ", "))
	}
	return i, nil
}

// VC is a vector clock: entry i counts the events of region i that
// happened before (or are) the event it stamps.
type VC struct {
	space *Space
	v     []uint64
}

// Zero returns the clock of nothing: every entry 0.
func (s *Space) Zero() VC { return VC{space: s, v: make([]uint64, len(s.regions))} }

// Of builds a clock from entries by region name (missing ones are 0).
func (s *Space) Of(entries map[string]uint64) (VC, error) {
	c := s.Zero()
	for r, n := range entries {
		i, err := s.Index(r)
		if err != nil {
			return VC{}, err
		}
		c.v[i] = n
	}
	return c, nil
}

// Get returns region r's entry (0 for an unknown region).
func (c VC) Get(r string) uint64 {
	if i, ok := c.space.index[r]; ok {
		return c.v[i]
	}
	return 0
}

// At returns entry i.
func (c VC) At(i int) uint64 { return c.v[i] }

// Tick returns c with region i's entry incremented: the clock of a new
// event at region i.
func (c VC) Tick(i int) VC {
	n := c.clone()
	n.v[i]++
	return n
}

func (c VC) clone() VC { return VC{space: c.space, v: slices.Clone(c.v)} }

// ErrSpaces is returned when two clocks come from different spaces.
var ErrSpaces = errors.New("causal: the clocks are from different region sets")

// Compare says whether a happened before b, after it, is equal or is
// concurrent with it: a <= b entrywise and a != b is before.
func Compare(a, b VC) (Order, error) {
	if a.space != b.space {
		return 0, ErrSpaces
	}
	less, more := false, false
	for i := range a.v {
		switch {
		case a.v[i] < b.v[i]:
			less = true
		case a.v[i] > b.v[i]:
			more = true
		}
	}
	switch {
	case less && more:
		return Concurrent, nil
	case less:
		return Before, nil
	case more:
		return After, nil
	}
	return Equal, nil
}

// Merge returns the entrywise maximum of a and b: the clock of knowing
// everything either knew.
func Merge(a, b VC) (VC, error) {
	if a.space != b.space {
		return VC{}, ErrSpaces
	}
	m := a.clone()
	for i, x := range b.v {
		m.v[i] = max(m.v[i], x)
	}
	return m, nil
}

// Dominates reports whether c >= o entrywise (c has seen all o has).
func (c VC) Dominates(o VC) bool {
	if c.space != o.space {
		return false
	}
	for i := range c.v {
		if c.v[i] < o.v[i] {
			return false
		}
	}
	return true
}

// Bytes is the clock's size on the wire as 8-byte entries: one per region.
func (c VC) Bytes() int { return 8 * len(c.v) }

func (c VC) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range c.space.regions {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", r, c.v[i])
	}
	b.WriteByte(']')
	return b.String()
}

package causal

import "fmt"

// Apply is one event applied at one region, in the region's order.
type Apply struct {
	Region int
	Event  Event
}

// Violation is an event applied at a region before one of its causes.
type Violation struct {
	Region int
	Event  string
	// Missing is the origin whose events the region had not all applied,
	// Had how many it had, Needed how many the event depends on.
	Missing     int
	Had, Needed uint64
}

func (v Violation) String() string {
	return fmt.Sprintf("region %d applied %s after %d events of region %d; it depends on %d of them", v.Region, v.Event, v.Had, v.Missing, v.Needed)
}

// Check finds every apply that exposes an effect before its cause: at the
// moment region x applies event e, x must have applied, for every origin
// r, the first e.Clock[r] events of r (the first Clock[origin]-1 for e's
// own origin). Events of one origin are numbered 1, 2, ... by their
// clocks, so counting applied events per origin is enough: the check is
// O(regions) per apply. A duplicate apply (an event applied twice at a
// region) is reported as a violation with Needed equal to Had.
func Check(s *Space, applies []Apply) ([]Violation, error) {
	n := len(s.regions)
	// applied[x][r]: the highest sequence of origin r applied at x, in a
	// contiguous prefix.
	applied := make([][]uint64, n)
	ahead := make([]map[[2]uint64]bool, n) // (origin, seq) applied past the prefix
	for i := range applied {
		applied[i] = make([]uint64, n)
		ahead[i] = map[[2]uint64]bool{}
	}
	var out []Violation
	for _, a := range applies {
		e := a.Event
		if e.Clock.space != s {
			return nil, ErrSpaces
		}
		if a.Region < 0 || a.Region >= n || e.Origin < 0 || e.Origin >= n {
			return nil, fmt.Errorf("causal: apply of %s at region %d from origin %d: outside the space of %d regions", e.ID, a.Region, e.Origin, n)
		}
		have := applied[a.Region]
		seq := e.Clock.v[e.Origin]
		if seq <= have[e.Origin] || ahead[a.Region][[2]uint64{uint64(e.Origin), seq}] {
			out = append(out, Violation{Region: a.Region, Event: e.ID, Missing: e.Origin, Had: have[e.Origin], Needed: have[e.Origin]})
			continue
		}
		for r := 0; r < n; r++ {
			need := e.Clock.v[r]
			if r == e.Origin {
				need--
			}
			if have[r] < need {
				out = append(out, Violation{Region: a.Region, Event: e.ID, Missing: r, Had: have[r], Needed: need})
				break
			}
		}
		if seq != have[e.Origin]+1 {
			// applied ahead of its origin's order: remembered, and the
			// prefix moves when the gap fills
			ahead[a.Region][[2]uint64{uint64(e.Origin), seq}] = true
			continue
		}
		have[e.Origin] = seq
		for k := [2]uint64{uint64(e.Origin), seq + 1}; ahead[a.Region][k]; k[1]++ {
			delete(ahead[a.Region], k)
			have[e.Origin] = k[1]
		}
	}
	return out, nil
}

package linz

import (
	"fmt"
	"sort"
	"time"
)

// Staleness counts the stale reads of a history.
//
// A read is stale when the value it returned had certainly been overwritten
// before the read began: some later write (one that started after the
// returned value's write had finished) had already been acknowledged when
// the read was issued. A read that found nothing is stale when any write to
// its key had been acknowledged before it began. Every stale read is a
// linearizability violation, but not every violation is a stale read (two
// concurrent reads that disagree, for example): run [Check] for the full
// judgement.
type Staleness struct {
	// Reads counts the successful reads examined.
	Reads int
	// Stale counts the stale reads; StaleOps holds their indices in the
	// history and Ages, for each, how long the newer value had been
	// acknowledged when the read began (how out of date the read was).
	Stale    int
	StaleOps []int
	Ages     []time.Duration
	// Unexplained counts reads that returned a value no write of their key
	// wrote, or one written only after the read had returned: impossible
	// in a correct store. UnexplainedOps holds their indices.
	Unexplained    int
	UnexplainedOps []int
}

// Fraction returns Stale / Reads (0 when there are no reads).
func (s Staleness) Fraction() float64 {
	if s.Reads == 0 {
		return 0
	}
	return float64(s.Stale) / float64(s.Reads)
}

// String summarises the count, e.g. "3 of 120 reads stale (2.5%)".
func (s Staleness) String() string {
	out := fmt.Sprintf("%d of %d reads stale (%.1f%%)", s.Stale, s.Reads, 100*s.Fraction())
	if s.Unexplained > 0 {
		out += fmt.Sprintf(", %d unexplained", s.Unexplained)
	}
	return out
}

type keyWrites struct {
	byValue   map[string]int  // value -> index in the history
	calls     []time.Duration // acknowledged writes' calls, sorted
	suffixMin []time.Duration // suffixMin[i]: earliest return among calls[i:]
}

// Stale counts the stale reads of h. Every write to a key must write a
// distinct value (an error otherwise: reads could not be traced).
func Stale(h History) (Staleness, error) {
	if err := h.Validate(); err != nil {
		return Staleness{}, err
	}
	keys := map[string]*keyWrites{}
	type acked struct{ call, ret time.Duration }
	ackedBy := map[string][]acked{}
	for i, o := range h.Ops {
		if o.Kind != Write {
			continue
		}
		kw := keys[o.Key]
		if kw == nil {
			kw = &keyWrites{byValue: map[string]int{}}
			keys[o.Key] = kw
		}
		if j, dup := kw.byValue[o.Value]; dup {
			return Staleness{}, fmt.Errorf("operations %d and %d both write %q to key %q: values must be distinct per key to trace reads", j, i, o.Value, o.Key)
		}
		kw.byValue[o.Value] = i
		if !o.Failed {
			ackedBy[o.Key] = append(ackedBy[o.Key], acked{o.Call, o.Return})
		}
	}
	for k, ws := range ackedBy {
		sort.Slice(ws, func(i, j int) bool { return ws[i].call < ws[j].call })
		kw := keys[k]
		kw.calls = make([]time.Duration, len(ws))
		kw.suffixMin = make([]time.Duration, len(ws)+1)
		kw.suffixMin[len(ws)] = Pending
		for i := len(ws) - 1; i >= 0; i-- {
			kw.calls[i] = ws[i].call
			kw.suffixMin[i] = min(kw.suffixMin[i+1], ws[i].ret)
		}
	}
	var s Staleness
	for i, o := range h.Ops {
		if o.Kind != Read || o.Failed {
			continue
		}
		s.Reads++
		kw := keys[o.Key]
		superseded := Pending // when the returned value was certainly overwritten
		if o.Found {
			j, ok := -1, false
			if kw != nil {
				j, ok = kw.byValue[o.Value]
			}
			if !ok || h.Ops[j].Call > o.Return {
				s.Unexplained++
				s.UnexplainedOps = append(s.UnexplainedOps, i)
				continue
			}
			if w := h.Ops[j]; !w.Failed {
				// the first acknowledged write that started after w returned
				idx := sort.Search(len(kw.calls), func(x int) bool { return kw.calls[x] > w.Return })
				superseded = kw.suffixMin[idx]
			}
		} else if kw != nil && len(kw.suffixMin) > 0 {
			superseded = kw.suffixMin[0]
		}
		if superseded < o.Call {
			s.Stale++
			s.StaleOps = append(s.StaleOps, i)
			s.Ages = append(s.Ages, o.Call-superseded)
		}
	}
	return s, nil
}

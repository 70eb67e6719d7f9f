package shard

import (
	"sort"

	"github.com/dsgym/dsgym/pkg/shard/hot"
)

// NewDetector returns a heavy-hitter detector over a sliding window of
// cfg.Slots slots, holding at most cfg.Capacity counters per slot whatever
// the number of customers. Hot reports every customer whose estimated count
// is at least cfg.Threshold of the window's events, heaviest first (ties by
// name); a customer that stops sending leaves the window, and the hot list,
// after cfg.Slots ticks. Estimate is never more than total/Capacity away
// from the true count in the window, where total is the window's events. An
// invalid cfg is an error.
//
//dsgym:exercise shard/detector
func NewDetector(cfg hot.Config) (hot.Detector, error) {
	//dsgym:solution
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &WindowDetector{cfg: cfg, slots: make([]*spaceSaving, cfg.Slots)}
	for i := range d.slots {
		d.slots[i] = &spaceSaving{capacity: cfg.Capacity, index: map[string]*ssCounter{}}
	}
	return d, nil
	//dsgym:stub
	// panic("not implemented yet: NewDetector: return a sliding-window heavy-hitter detector with at most Capacity counters per slot; an error for an invalid config")
	//dsgym:end
}

// WindowDetector is a sliding-window heavy-hitter detector: one bounded
// summary per slot of the window, in a ring. The reference's summary is
// Space-Saving (Metwally, Agrawal and El Abbadi, "Efficient Computation of
// Frequent and Top-k Elements in Data Streams", 2005).
//
//dsgym:exercise shard/detector
type WindowDetector struct {
	//dsgym:solution
	cfg   hot.Config
	slots []*spaceSaving // a ring: slots[cur] is the open slot
	cur   int
	//dsgym:stub
	// // your fields: a bounded summary per slot, and which slot is current
	//dsgym:end
}

// Observe counts n events of customer in the current slot.
//
//dsgym:exercise shard/detector
func (d *WindowDetector) Observe(customer string, n uint64) {
	//dsgym:solution
	if n > 0 {
		d.slots[d.cur].add(customer, n)
	}
	//dsgym:stub
	// panic("not implemented yet: NewDetector: Observe: count n events of customer in the current slot")
	//dsgym:end
}

// Tick closes the current slot: the oldest slot is emptied and becomes the
// current one.
//
//dsgym:exercise shard/detector
func (d *WindowDetector) Tick() {
	//dsgym:solution
	d.cur = (d.cur + 1) % len(d.slots)
	d.slots[d.cur].reset()
	//dsgym:stub
	// panic("not implemented yet: NewDetector: Tick: close the current slot; the oldest slot leaves the window")
	//dsgym:end
}

// Estimate returns an upper bound of customer's events in the window: its
// count in the slots whose summary holds it, plus, for a full summary that
// does not, that summary's smallest count (Space-Saving's bound on what an
// evicted customer can have had).
//
//dsgym:exercise shard/detector
func (d *WindowDetector) Estimate(customer string) uint64 {
	//dsgym:solution
	var est uint64
	for _, s := range d.slots {
		if c, ok := s.index[customer]; ok {
			est += c.count
		} else if len(s.heap) == s.capacity {
			est += s.heap[0].count
		}
	}
	return est
	//dsgym:stub
	// panic("not implemented yet: NewDetector: Estimate: return customer's estimated events in the window")
	//dsgym:end
}

// Hot returns the customers whose estimate is at least the threshold share
// of the window's events, heaviest first. Only customers some summary holds
// can qualify: one with a threshold share of the window has at least that
// share in some slot, and Space-Saving keeps every customer above
// 1/Capacity of a slot.
//
//dsgym:exercise shard/detector
func (d *WindowDetector) Hot() []hot.Hit {
	//dsgym:solution
	// One pass over the summaries gives every held customer's estimate:
	// its counts where held, plus the smallest count of each full summary
	// that does not hold it (see Estimate).
	var total, fullMins uint64
	type sums struct{ held, fullMinsHeld uint64 }
	acc := map[string]sums{}
	for _, s := range d.slots {
		total += s.total
		full := len(s.heap) == s.capacity
		var m uint64
		if full {
			m = s.heap[0].count
			fullMins += m
		}
		for _, c := range s.heap {
			a := acc[c.customer]
			a.held += c.count
			if full {
				a.fullMinsHeld += m
			}
			acc[c.customer] = a
		}
	}
	if total == 0 {
		return nil
	}
	var out []hot.Hit
	for c, a := range acc {
		if est := a.held + fullMins - a.fullMinsHeld; float64(est) >= d.cfg.Threshold*float64(total) {
			out = append(out, hot.Hit{Customer: c, Count: est})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Customer < out[j].Customer
	})
	return out
	//dsgym:stub
	// panic("not implemented yet: NewDetector: Hot: return the customers at or above the threshold share of the window, heaviest first")
	//dsgym:end
}

// Counters returns how many counters the summaries hold.
//
//dsgym:exercise shard/detector
func (d *WindowDetector) Counters() int {
	//dsgym:solution
	n := 0
	for _, s := range d.slots {
		n += len(s.heap)
	}
	return n
	//dsgym:stub
	// panic("not implemented yet: NewDetector: Counters: return how many per-customer counters the detector holds")
	//dsgym:end
}

//dsgym:solution

// spaceSaving is one slot's summary: at most capacity counters in a
// min-heap by count. A new customer arriving when it is full takes over the
// smallest counter and inherits its count (the over-estimate is at most
// that count, which is at most total/capacity).
//
//dsgym:exercise shard/detector
type spaceSaving struct {
	capacity int
	total    uint64
	heap     []*ssCounter          // min-heap by (count, customer)
	index    map[string]*ssCounter // customer -> its counter
}

// ssCounter is one customer's count in a summary, and its place in the
// heap (so that reordering the heap never touches the map).
//
//dsgym:exercise shard/detector
type ssCounter struct {
	customer string
	count    uint64
	pos      int
}

//dsgym:exercise shard/detector
func (s *spaceSaving) add(customer string, n uint64) {
	s.total += n
	if c, ok := s.index[customer]; ok {
		c.count += n
		s.down(c.pos)
		return
	}
	if len(s.heap) < s.capacity {
		c := &ssCounter{customer: customer, count: n, pos: len(s.heap)}
		s.heap = append(s.heap, c)
		s.index[customer] = c
		s.up(c.pos)
		return
	}
	c := s.heap[0] // the smallest counter changes hands
	delete(s.index, c.customer)
	c.customer, c.count = customer, c.count+n
	s.index[customer] = c
	s.down(0)
}

//dsgym:exercise shard/detector
func (s *spaceSaving) reset() {
	s.total = 0
	s.heap = s.heap[:0]
	clear(s.index)
}

//dsgym:exercise shard/detector
func (s *spaceSaving) less(i, j int) bool {
	a, b := s.heap[i], s.heap[j]
	if a.count != b.count {
		return a.count < b.count
	}
	return a.customer < b.customer
}

//dsgym:exercise shard/detector
func (s *spaceSaving) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].pos, s.heap[j].pos = i, j
}

//dsgym:exercise shard/detector
func (s *spaceSaving) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

//dsgym:exercise shard/detector
func (s *spaceSaving) down(i int) {
	for {
		l, small := 2*i+1, i
		if l < len(s.heap) && s.less(l, small) {
			small = l
		}
		if r := l + 1; r < len(s.heap) && s.less(r, small) {
			small = r
		}
		if small == i {
			return
		}
		s.swap(i, small)
		i = small
	}
}

//dsgym:stub
//dsgym:end

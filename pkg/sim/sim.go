// Package sim is a deterministic discrete-event simulator: a virtual clock,
// an event queue, seeded random streams, and (in network.go) a simulated
// network with latency, loss, duplication, reordering, partitions and node
// crashes. The course's protocol experiments (quorum replication, session
// guarantees, 2PC, sagas, ...) run on it.
//
// Determinism: a simulation is a function of its seed. Events at the same
// virtual time run in the order they were scheduled; every random draw comes
// from a named stream derived from the seed, so adding draws in one part of a
// model does not shift the draws of another. Nothing reads the wall clock or
// a global random source. Run it twice with the same seed and you get the
// same trace, event for event.
package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Time is a point in virtual time: the duration since the simulation began.
type Time = time.Duration

// Sim is one simulation. It is not safe for concurrent use: models run inside
// its events, one at a time.
type Sim struct {
	seed     uint64
	now      Time
	seq      uint64
	queue    eventQueue
	steps    uint64
	maxSteps uint64
	streams  map[string]*rand.Rand
}

// New returns a simulation whose randomness derives from seed.
func New(seed uint64) *Sim {
	return &Sim{seed: seed, maxSteps: 50_000_000, streams: map[string]*rand.Rand{}}
}

// Seed returns the simulation's seed: report it with every result.
func (s *Sim) Seed() uint64 { return s.seed }

// Now returns the current virtual time.
func (s *Sim) Now() Time { return s.now }

// Steps returns how many events have run.
func (s *Sim) Steps() uint64 { return s.steps }

// SetMaxSteps bounds how many events Run may execute before it stops with
// [ErrStepLimit] (default 50 million), a guard against models that never go
// quiet.
func (s *Sim) SetMaxSteps(n uint64) { s.maxSteps = n }

// Rand returns the random stream with the given name, creating it on first
// use. Use one stream per concern ("net", "client-3", "crashes").
func (s *Sim) Rand(stream string) *rand.Rand {
	r, ok := s.streams[stream]
	if !ok {
		r = NewRand(s.seed, stream)
		s.streams[stream] = r
	}
	return r
}

// NewRand returns a generator for (seed, stream), the same one Sim.Rand
// gives; useful for workload generators that run outside a Sim.
func NewRand(seed uint64, stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(stream))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// Timer is a scheduled event; Stop cancels it.
type Timer struct {
	at      Time
	seq     uint64
	fn      func()
	index   int // position in the heap, -1 once run or stopped
	stopped bool
	onStop  func() // bookkeeping of the owner, if any
}

// When returns the virtual time the timer fires at.
func (t *Timer) When() Time { return t.at }

// Stop cancels the timer; it reports whether the timer was still pending.
func (t *Timer) Stop() bool {
	if t == nil || t.stopped || t.index < 0 {
		return false
	}
	t.stopped = true
	if t.onStop != nil {
		t.onStop()
	}
	return true
}

// Pending reports whether the timer has neither fired nor been stopped.
func (t *Timer) Pending() bool { return t != nil && !t.stopped && t.index >= 0 }

// At schedules fn at virtual time t (now, if t is in the past).
func (s *Sim) At(t Time, fn func()) *Timer {
	if t < s.now {
		t = s.now
	}
	s.seq++
	tm := &Timer{at: t, seq: s.seq, fn: fn}
	heap.Push(&s.queue, tm)
	return tm
}

// After schedules fn after d of virtual time (d < 0 counts as 0).
func (s *Sim) After(d time.Duration, fn func()) *Timer {
	if d < 0 {
		d = 0
	}
	return s.At(s.now+d, fn)
}

// Pending returns how many events are scheduled (stopped timers included
// until they reach the head of the queue).
func (s *Sim) Pending() int { return len(s.queue) }

// Idle reports whether nothing is left to happen: no scheduled event that
// has not been stopped. After RunUntil it tells "the model went quiet"
// from "the horizon was reached with work still pending".
func (s *Sim) Idle() bool {
	for _, t := range s.queue {
		if !t.stopped {
			return false
		}
	}
	return true
}

// Step runs the next event; it reports false when none is left.
func (s *Sim) Step() bool {
	for len(s.queue) > 0 {
		tm := heap.Pop(&s.queue).(*Timer)
		if tm.stopped {
			continue
		}
		s.now = tm.at
		s.steps++
		tm.fn()
		return true
	}
	return false
}

// ErrStepLimit is returned when a run executes more events than allowed.
var ErrStepLimit = errors.New("simulation step limit reached")

// Run executes events until none is left.
func (s *Sim) Run() error { return s.RunUntil(Time(1<<63 - 1)) }

// RunUntil executes events up to and including virtual time t, then sets the
// clock to t (when t is finite and later than the last event).
func (s *Sim) RunUntil(t Time) error {
	start := s.steps
	for len(s.queue) > 0 {
		next := s.queue[0]
		if next.stopped {
			heap.Pop(&s.queue)
			continue
		}
		if next.at > t {
			break
		}
		if s.steps-start >= s.maxSteps {
			return fmt.Errorf("%w after %d events at virtual time %v", ErrStepLimit, s.steps-start, s.now)
		}
		s.Step()
	}
	if t != Time(1<<63-1) && t > s.now {
		s.now = t
	}
	return nil
}

// RunFor executes events for d of virtual time from now.
func (s *Sim) RunFor(d time.Duration) error { return s.RunUntil(s.now + d) }

// eventQueue is a min-heap of timers by (time, sequence).
type eventQueue []*Timer

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *eventQueue) Push(x any) {
	t := x.(*Timer)
	t.index = len(*q)
	*q = append(*q, t)
}
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*q = old[:n-1]
	return t
}

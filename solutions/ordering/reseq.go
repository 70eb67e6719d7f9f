package ordering

import (
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/ordering/history"
	"github.com/dsgym/dsgym/pkg/ordering/reseq"
)

// NewResequencer returns a resequencer that hands each key's events on in
// seq order, starting at seq 0, and decides about gaps this way: an event
// above the next expected seq is held back; the key waits for the missing
// seq until cfg.Timeout after it first held an event back, or until it
// would hold more than cfg.MaxBuffer events. Then it gives the missing
// seqs up (Stats.Skipped), releases the held events from the lowest on,
// and waits again, with a fresh timeout, if another gap remains. An event
// whose seq was already emitted or given up is dropped (Stats.Dropped).
// An invalid cfg is an error.
//
//dsgym:exercise ordering/reseq
func NewResequencer(cfg reseq.Config) (reseq.Resequencer, error) {
	//dsgym:solution
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Resequencer{cfg: cfg, keys: map[string]*keyState{}}, nil
	//dsgym:stub
	// panic("not implemented yet: NewResequencer: return a resequencer that releases each key's events in seq order, waits for a gap at most Timeout or MaxBuffer events, and drops what is too late")
	//dsgym:end
}

// Resequencer is the reference resequencer: per key, the next seq to
// emit and the events held back, by seq.
//
//dsgym:exercise ordering/reseq
type Resequencer struct {
	//dsgym:solution
	cfg   reseq.Config
	keys  map[string]*keyState
	stats reseq.Stats
	//dsgym:stub
	// // your fields: per key, the next seq to emit and what is held back
	//dsgym:end
}

//dsgym:solution

// keyState is one key's place in the sequence.
//
//dsgym:exercise ordering/reseq
type keyState struct {
	next  int
	held  map[int]history.Event
	since time.Duration // when the current wait began
}

//dsgym:stub
//dsgym:end

// Push takes one event and returns what it releases.
//
//dsgym:exercise ordering/reseq
func (r *Resequencer) Push(e history.Event, now time.Duration) []history.Event {
	//dsgym:solution
	k := r.keys[e.Key]
	if k == nil {
		k = &keyState{held: map[int]history.Event{}}
		r.keys[e.Key] = k
	}
	if _, dup := k.held[e.Seq]; dup || e.Seq < k.next {
		r.stats.Dropped++
		return nil
	}
	if e.Seq == k.next {
		out := []history.Event{e}
		k.next++
		r.stats.Emitted++
		return r.drain(k, now, out)
	}
	if len(k.held) == 0 {
		k.since = now
	}
	k.held[e.Seq] = e
	r.stats.Buffered++
	if len(k.held) > r.cfg.MaxBuffer {
		return r.giveUp(k, now, nil)
	}
	return nil
	//dsgym:stub
	// panic("not implemented yet: NewResequencer: Push: emit the event if it is the key's next seq (and what it unblocks), hold it if it is ahead, drop it if it is behind")
	//dsgym:end
}

// Tick releases what waited past the timeout.
//
//dsgym:exercise ordering/reseq
func (r *Resequencer) Tick(now time.Duration) []history.Event {
	//dsgym:solution
	var out []history.Event
	keys := make([]string, 0, len(r.keys))
	for key, k := range r.keys {
		if len(k.held) > 0 {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		k := r.keys[key]
		for len(k.held) > 0 && now-k.since >= r.cfg.Timeout {
			out = r.giveUp(k, now, out)
		}
	}
	return out
	//dsgym:stub
	// panic("not implemented yet: NewResequencer: Tick: for every key whose wait began Timeout ago or more, give the missing seqs up and release what is held, in seq order")
	//dsgym:end
}

// Stats reports the counts so far.
//
//dsgym:exercise ordering/reseq
func (r *Resequencer) Stats() reseq.Stats {
	//dsgym:solution
	return r.stats
	//dsgym:stub
	// panic("not implemented yet: NewResequencer: Stats: report emitted, dropped, skipped and buffered")
	//dsgym:end
}

//dsgym:solution

// giveUp skips k's missing seqs up to its lowest held event and releases
// from there.
//
//dsgym:exercise ordering/reseq
func (r *Resequencer) giveUp(k *keyState, now time.Duration, out []history.Event) []history.Event {
	lowest := -1
	for s := range k.held {
		if lowest < 0 || s < lowest {
			lowest = s
		}
	}
	r.stats.Skipped += lowest - k.next
	k.next = lowest
	return r.drain(k, now, out)
}

// drain releases k's held events from k.next on while they are
// consecutive; a wait that remains starts again at now.
//
//dsgym:exercise ordering/reseq
func (r *Resequencer) drain(k *keyState, now time.Duration, out []history.Event) []history.Event {
	for {
		e, ok := k.held[k.next]
		if !ok {
			break
		}
		delete(k.held, k.next)
		out = append(out, e)
		k.next++
		r.stats.Emitted++
		r.stats.Buffered--
	}
	if len(k.held) > 0 {
		k.since = now
	}
	return out
}

//dsgym:stub
//dsgym:end

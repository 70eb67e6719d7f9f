package drill

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	"github.com/dsgym/dsgym/pkg/ordering/reseq"
	ref "github.com/dsgym/dsgym/solutions/ordering"
)

// ReseqFunc is NewResequencer's signature.
type ReseqFunc = reseq.New

var reseqCfg = reseq.Config{MaxBuffer: 3, Timeout: 100 * time.Millisecond}

const ms = time.Millisecond

func build(t exercise.T, f ReseqFunc, cfg reseq.Config) reseq.Resequencer {
	t.Helper()
	r, err := f(cfg)
	if err != nil || r == nil {
		t.Errorf("NewResequencer(%+v) = %v, %v; want a resequencer", cfg, r, err)
		t.FailNow()
	}
	return r
}

// step is one call: a Push of e at, or (tick) a Tick at, and what it must
// release.
type step struct {
	tick bool
	e    history.Event
	at   time.Duration
	want []history.Event
}

func push(key string, seq int, at time.Duration, want ...history.Event) step {
	return step{e: ev(key, seq), at: at, want: want}
}

func tick(at time.Duration, want ...history.Event) step { return step{tick: true, at: at, want: want} }

func script(name string, steps []step, stats reseq.Stats, hint int) exercise.Check[ReseqFunc] {
	return exercise.Check[ReseqFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f ReseqFunc) {
		r := build(t, f, reseqCfg)
		for i, s := range steps {
			var got []history.Event
			call := fmt.Sprintf("Push(%v) at %v", s.e, s.at)
			if s.tick {
				got = r.Tick(s.at)
				call = fmt.Sprintf("Tick at %v", s.at)
			} else {
				got = r.Push(s.e, s.at)
			}
			if len(got) == 0 && len(s.want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Errorf("step %d, %s released %v; want %v", i+1, call, got, s.want)
				return
			}
		}
		if got := r.Stats(); got != stats {
			t.Errorf("after the steps, Stats() = %+v; want %+v", got, stats)
		}
	}}
}

// Resequencer is exercise ordering/reseq.
var Resequencer = exercise.Register(&exercise.Exercise[ReseqFunc]{
	ID:       "ordering/reseq",
	Title:    "A resequencer for a salted hot key",
	Task:     "release each key's events in seq order; hold what is ahead, wait for a gap at most Timeout or MaxBuffer events, then skip it; drop what is behind",
	Func:     "NewResequencer",
	Notebook: notebook,
	Hints: [3]string{
		"Keep per key the next seq to emit and the events held back (a map by seq). An event is behind (drop it), next (emit it and whatever it unblocks) or ahead (hold it).",
		"A wait starts when a key first holds an event back. It ends at Timeout (in Tick) or when the key would hold more than MaxBuffer: then count the missing seqs as skipped, jump next to the lowest held seq, and release from there while seqs are consecutive. If something is still held, a new wait starts now.",
		"Push: if seq < next or held[seq] exists {Dropped++; return nil}; if seq == next {emit; next++; drain}; else {if len(held)==0 {since=now}; held[seq]=e; if len(held) > MaxBuffer {giveUp}}. giveUp: low := min held seq; Skipped += low-next; next = low; drain. Tick: for keys (sorted) with held and now-since >= Timeout: giveUp.",
	},
	Reference: func(c reseq.Config) (reseq.Resequencer, error) { return ref.NewResequencer(c) },
	Probe: func(f ReseqFunc) {
		if r, err := f(reseqCfg); err == nil && r != nil {
			r.Push(ev("probe", 0), 0)
		}
	},
	Checks: []exercise.Check[ReseqFunc]{
		script("events already in order pass through at once",
			[]step{push("a", 0, 0, ev("a", 0)), push("a", 1, ms, ev("a", 1)), push("a", 2, 2*ms, ev("a", 2))},
			reseq.Stats{Emitted: 3}, 1),
		script("an event ahead is held until the one before it arrives, then both go in order",
			[]step{push("a", 1, 0), push("a", 2, ms), push("a", 0, 2*ms, ev("a", 0), ev("a", 1), ev("a", 2))},
			reseq.Stats{Emitted: 3}, 1),
		script("a duplicate, and a seq already emitted, are dropped",
			[]step{push("a", 0, 0, ev("a", 0)), push("a", 2, ms), push("a", 2, 2*ms), push("a", 0, 3*ms), push("a", 1, 4*ms, ev("a", 1), ev("a", 2))},
			reseq.Stats{Emitted: 3, Dropped: 2}, 2),
		script("a missing seq is waited for until Timeout, then skipped, and what waited goes in order",
			[]step{push("a", 0, 0, ev("a", 0)), push("a", 3, 10*ms), push("a", 2, 20*ms), tick(109 * ms), tick(110*ms, ev("a", 2), ev("a", 3))},
			reseq.Stats{Emitted: 3, Skipped: 1}, 2),
		script("a straggler that arrives after its seq was skipped is dropped, not emitted out of order",
			[]step{push("a", 1, 0), tick(100*ms, ev("a", 1)), push("a", 0, 150*ms), push("a", 2, 160*ms, ev("a", 2))},
			reseq.Stats{Emitted: 2, Skipped: 1, Dropped: 1}, 2),
		script("a key holding more than MaxBuffer events stops waiting at once",
			[]step{push("a", 1, 0), push("a", 2, ms), push("a", 3, 2*ms), push("a", 4, 3*ms, ev("a", 1), ev("a", 2), ev("a", 3), ev("a", 4))},
			reseq.Stats{Emitted: 4, Skipped: 1}, 2),
		script("a second gap gets a fresh timeout from when the first ended",
			[]step{push("a", 1, 0), push("a", 3, ms), tick(100*ms, ev("a", 1)), tick(150 * ms), tick(200*ms, ev("a", 3))},
			reseq.Stats{Emitted: 2, Skipped: 2}, 3),
		script("keys are independent: a gap in one holds nothing of another",
			[]step{push("a", 1, 0), push("b", 0, ms, ev("b", 0)), push("b", 1, 2*ms, ev("b", 1)), push("a", 0, 3*ms, ev("a", 0), ev("a", 1))},
			reseq.Stats{Emitted: 4}, 2),
		{Name: "Stats counts what is held back", Hint: 2, Run: func(t exercise.T, f ReseqFunc) {
			r := build(t, f, reseqCfg)
			r.Push(ev("a", 2), 0)
			r.Push(ev("a", 1), 0)
			if got := r.Stats(); got != (reseq.Stats{Buffered: 2}) {
				t.Errorf("after Push(a#2), Push(a#1): Stats() = %+v; want {Buffered: 2}", got)
			}
		}},
		{Name: "a bad Config is an error: MaxBuffer < 1 or Timeout <= 0", Hint: 1, Run: func(t exercise.T, f ReseqFunc) {
			for _, c := range []reseq.Config{{MaxBuffer: 0, Timeout: ms}, {MaxBuffer: 3}, {MaxBuffer: 3, Timeout: -ms}} {
				if _, err := f(c); err == nil {
					t.Errorf("NewResequencer(%+v) returned no error", c)
				}
			}
		}},
		{Name: "on 3 salted streams merged out of order (8 salts, 2,000 events), every key comes out complete and in order", Hint: 3, Run: func(t exercise.T, f ReseqFunc) {
			for seed := uint64(1); seed <= 3; seed++ {
				in := saltedMerge(seed, 2000, 8)
				r := build(t, f, reseq.Config{MaxBuffer: len(in), Timeout: time.Second})
				var out []history.Event
				for i, e := range in {
					out = append(out, r.Push(e, time.Duration(i)*time.Microsecond)...)
				}
				out = append(out, r.Tick(time.Hour)...)
				for i, e := range out {
					if e.Seq != i {
						t.Errorf("seed %d: output %d is %v; want seq %d (the stream held every seq once)", seed, i, e, i)
						return
					}
				}
				if len(out) != len(in) {
					t.Errorf("seed %d: %d of %d events came out", seed, len(out), len(in))
					return
				}
			}
		}},
	},
})

// saltedMerge is one hot key's events 0..n-1 sent over salts sub-streams
// (seq i to salt i mod salts) and merged again by a consumer that takes
// the next event from a random sub-stream: each sub-stream stays in
// order, the merge does not.
func saltedMerge(seed uint64, n, salts int) []history.Event {
	r := rand.New(rand.NewPCG(seed, 81))
	subs := make([][]history.Event, salts)
	for i := range n {
		subs[i%salts] = append(subs[i%salts], ev("hot", i))
	}
	var out []history.Event
	for len(out) < n {
		s := r.IntN(salts)
		if len(subs[s]) > 0 {
			out = append(out, subs[s][0])
			subs[s] = subs[s][1:]
		}
	}
	return out
}

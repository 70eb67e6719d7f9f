package drill

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/ordering/history"
	"github.com/dsgym/dsgym/pkg/ordering/reseq"
	"github.com/dsgym/dsgym/pkg/ordering/sizing"
	ref "github.com/dsgym/dsgym/solutions/ordering"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("ordering/check", func(t *testing.T) { Check.Passes(t, ref.Check) })
	t.Run("ordering/reseq", func(t *testing.T) { Resequencer.Passes(t, Resequencer.Reference) })
	t.Run("ordering/partitions", func(t *testing.T) { Partitions.Passes(t, ref.Partitions) })
}

func TestCheckChecksCatchKnownBadCheckers(t *testing.T) {
	disturbed := Check.Checks[len(Check.Checks)-1].Name
	tests := []struct {
		name   string
		bad    CheckFunc
		checks []string
	}{
		{"misses gaps (only looks for seqs going backwards)", func(h history.History) history.Report {
			r := ref.Check(h)
			r.Gaps = 0
			return r
		}, []string{"a delivery that skips a seq is a gap, and the skipped event, if it never comes, is lost", disturbed}},
		{"counts a redelivery as out of order too", func(h history.History) history.Report {
			r := ref.Check(h)
			r.OutOfOrder += r.Duplicated
			return r
		}, []string{"a redelivery is a duplicate and nothing else", disturbed}},
		{"tracks offsets per partition, not per consumer and partition", func(h history.History) history.Report {
			r := ref.Check(h)
			last := map[int32]int64{}
			r.NonMonotonic = 0
			for _, d := range h.Got {
				if prev, ok := last[d.Partition]; ok && d.Offset <= prev {
					r.NonMonotonic++
				}
				last[d.Partition] = d.Offset
			}
			return r
		}, []string{"two consumers reading one partition (after a rebalance) are two streams"}},
		{"dedupes by seq alone, forgetting the key", func(h history.History) history.Report {
			r := ref.Check(h)
			seen := map[int]bool{}
			r.Duplicated = 0
			for _, d := range h.Got {
				if seen[d.Seq] {
					r.Duplicated++
				}
				seen[d.Seq] = true
			}
			return r
		}, []string{"deliveries in order, once each, have no anomaly", disturbed}},
		{"never reports a loss (looks at deliveries only)", func(h history.History) history.Report {
			r := ref.Check(h)
			r.Lost = 0
			return r
		}, []string{"an event never delivered is lost", disturbed}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { Check.Catches(t, c.name, c.bad, c.checks...) })
	}
}

// wrapped is a resequencer whose Push or Tick a known-bad version
// replaces.
type wrapped struct {
	reseq.Resequencer
	push func(e history.Event, now time.Duration) []history.Event
	tick func(now time.Duration) []history.Event
}

func (w *wrapped) Push(e history.Event, now time.Duration) []history.Event {
	if w.push != nil {
		return w.push(e, now)
	}
	return w.Resequencer.Push(e, now)
}

func (w *wrapped) Tick(now time.Duration) []history.Event {
	if w.tick != nil {
		return w.tick(now)
	}
	return w.Resequencer.Tick(now)
}

// arrivalOrder holds events ahead of the next seq in arrival order and, on
// timeout, lets them go in that order: the bug the issue names.
type arrivalOrder struct {
	cfg   reseq.Config
	next  map[string]int
	held  map[string][]history.Event
	since map[string]time.Duration
	stats reseq.Stats
}

func (a *arrivalOrder) Push(e history.Event, now time.Duration) []history.Event {
	if e.Seq < a.next[e.Key] {
		a.stats.Dropped++
		return nil
	}
	if e.Seq == a.next[e.Key] {
		out := []history.Event{e}
		a.next[e.Key]++
		// release consecutive held ones
		for {
			i := slices.IndexFunc(a.held[e.Key], func(h history.Event) bool { return h.Seq == a.next[e.Key] })
			if i < 0 {
				break
			}
			out = append(out, a.held[e.Key][i])
			a.held[e.Key] = slices.Delete(a.held[e.Key], i, i+1)
			a.next[e.Key]++
		}
		a.stats.Emitted += len(out)
		return out
	}
	if len(a.held[e.Key]) == 0 {
		a.since[e.Key] = now
	}
	a.held[e.Key] = append(a.held[e.Key], e)
	return nil
}

func (a *arrivalOrder) Tick(now time.Duration) []history.Event {
	var out []history.Event
	for k, hs := range a.held {
		if len(hs) > 0 && now-a.since[k] >= a.cfg.Timeout {
			out = append(out, hs...) // in arrival order, not seq order
			hi := 0
			for _, h := range hs {
				hi = max(hi, h.Seq)
			}
			a.next[k] = hi + 1
			a.held[k] = nil
		}
	}
	return out
}

func (a *arrivalOrder) Stats() reseq.Stats { return a.stats }

func TestReseqChecksCatchKnownBadResequencers(t *testing.T) {
	refNew := Resequencer.Reference
	wrap := func(f func(r reseq.Resequencer) *wrapped) ReseqFunc {
		return func(c reseq.Config) (reseq.Resequencer, error) {
			r, err := refNew(c)
			if err != nil {
				return nil, err
			}
			return f(r), nil
		}
	}
	tests := []struct {
		name   string
		bad    ReseqFunc
		checks []string
	}{
		{"lets held events go in arrival order on timeout", func(c reseq.Config) (reseq.Resequencer, error) {
			if err := c.Validate(); err != nil {
				return nil, err
			}
			return &arrivalOrder{cfg: c, next: map[string]int{}, held: map[string][]history.Event{}, since: map[string]time.Duration{}}, nil
		}, []string{"a missing seq is waited for until Timeout, then skipped, and what waited goes in order"}},
		{"never gives a gap up (no timeout)", wrap(func(r reseq.Resequencer) *wrapped {
			return &wrapped{Resequencer: r, tick: func(time.Duration) []history.Event { return nil }}
		}), []string{"a missing seq is waited for until Timeout, then skipped, and what waited goes in order"}},
		{"passes duplicates on", wrap(func(r reseq.Resequencer) *wrapped {
			seen := map[history.Event]bool{}
			w := &wrapped{Resequencer: r}
			w.push = func(e history.Event, now time.Duration) []history.Event {
				if seen[e] {
					return []history.Event{e}
				}
				seen[e] = true
				return r.Push(e, now)
			}
			return w
		}), []string{"a duplicate, and a seq already emitted, are dropped"}},
		{"does not wait at all: emits whatever arrives", func(c reseq.Config) (reseq.Resequencer, error) {
			r, err := refNew(c)
			if err != nil {
				return nil, err
			}
			return &wrapped{Resequencer: r, push: func(e history.Event, _ time.Duration) []history.Event { return []history.Event{e} }}, nil
		}, []string{"an event ahead is held until the one before it arrives, then both go in order"}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { Resequencer.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestPartitionsChecksCatchKnownBadCalculators(t *testing.T) {
	tests := []struct {
		name   string
		bad    PartitionsFunc
		checks []string
	}{
		{"ignores the consumers (producer side only)", func(n sizing.Need) (sizing.Plan, error) {
			p, err := ref.Partitions(n)
			if err != nil && n.Target > 0 && n.PerPartition > 0 && n.PerConsumer > 0 && n.Consumers > 0 && n.Headroom >= 0 {
				err = nil
			}
			p.Partitions = int(math.Ceil(n.Target * (1 + n.Headroom) / n.PerPartition))
			return p, err
		}, []string{"the consumer side decides when processing is slow: 50,000/s at 2,000 per consumer needs 25 consumers, so 25 partitions",
			"a load the group cannot consume is an error, whatever the partitions"}},
		{"forgets the headroom", func(n sizing.Need) (sizing.Plan, error) {
			n.Headroom = max(0, n.Headroom)
			h := n.Headroom
			n.Headroom = 0
			p, err := ref.Partitions(n)
			if h < 0 {
				err = nil
			}
			return p, err
		}, []string{"headroom is part of the load: 50% more on 40,000/s at 10,000 per partition is 6"}},
		{"does not round to the group's size", func(n sizing.Need) (sizing.Plan, error) {
			p, err := ref.Partitions(n)
			p.Partitions = max(p.ForProduce, p.ForConsume)
			return p, err
		}, []string{"the count is a multiple of the group's size: 7 needed over 4 consumers is 8"}},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) { Partitions.Catches(t, c.name, c.bad, c.checks...) })
	}
}

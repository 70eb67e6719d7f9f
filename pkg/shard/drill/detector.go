package drill

import (
	"fmt"
	"math"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shard/hot"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	"github.com/dsgym/dsgym/solutions/shard"
)

// NewDetectorFunc is the signature of the shard/detector exercise.
type NewDetectorFunc = func(cfg hot.Config) (hot.Detector, error)

// checkCfg is the detector the checks build: a 4-slot window, 50 counters a
// slot, hot from 5% of the window.
var checkCfg = hot.Config{Slots: 4, Capacity: 50, Threshold: 0.05}

func build(t exercise.T, f NewDetectorFunc, cfg hot.Config) hot.Detector {
	d, err := f(cfg)
	require.NoErrorf(t, err, "NewDetector(%+v)", cfg)
	require.NotNilf(t, d, "NewDetector(%+v) returned a nil detector", cfg)
	return d
}

// background sends n events spread evenly over customers bg-0..bg-(m-1).
func background(d hot.Detector, tag string, n, m int) {
	for i := range n {
		d.Observe(fmt.Sprintf("bg-%s-%d", tag, i%m), 1)
	}
}

func names(hits []hot.Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Customer
	}
	return out
}

func isHot(d hot.Detector, c string) bool {
	for _, h := range d.Hot() {
		if h.Customer == c {
			return true
		}
	}
	return false
}

// zipfWindow feeds a detector of 4 slots, 200 counters a slot and a 2%
// threshold 40,000 Zipf events over 5,000 customers, ticking every
// 10,000, and returns it with the events and their exact counts.
func zipfWindow(t exercise.T, f NewDetectorFunc) (hot.Config, hot.Detector, []string, map[string]uint64) {
	cfg := hot.Config{Slots: 4, Capacity: 200, Threshold: 0.02}
	d := build(t, f, cfg)
	events, exact := zipfStream(40_000, 5000)
	for i, c := range events {
		if i > 0 && i%10_000 == 0 {
			d.Tick()
		}
		d.Observe(c, 1)
	}
	return cfg, d, events, exact
}

// zipfStream returns a seeded Zipf(0.99) stream of customer ids over n
// customers, and the exact count of each.
func zipfStream(events, customers int) ([]string, map[string]uint64) {
	wl, err := workload.New(workload.Config{Seed: 11, Customers: customers, Rate: 1, Zipf: 0.99, Retention: 1, PointBytes: 1})
	if err != nil {
		panic(err)
	}
	s := wl.Stream("detector-check")
	ids := wl.IDs()
	out := make([]string, events)
	exact := map[string]uint64{}
	for i := range out {
		out[i] = ids[s.Next()]
		exact[out[i]]++
	}
	return out, exact
}

// NewDetector is the shard/detector exercise: a sliding-window heavy-hitter
// detector in bounded memory.
var NewDetector = exercise.Register(&exercise.Exercise[NewDetectorFunc]{
	ID:       "shard/detector",
	Title:    "Hot customers: a sliding-window heavy-hitter detector",
	Task:     "NewDetector returns a hot.Detector: counts per customer over the last cfg.Slots slots with at most cfg.Capacity counters a slot; Hot lists customers at or above cfg.Threshold of the window, heaviest first",
	Func:     "NewDetector",
	Notebook: notebook,
	Hints: [3]string{
		"Two problems in one. Memory: you cannot keep a counter per customer (100K of them, most cold), so each slot keeps a bounded summary that is sure to contain every customer above 1/Capacity of that slot. Time: the window slides, so keep one summary per slot in a ring; Tick empties the oldest and makes it current.",
		"Space-Saving (Metwally et al. 2005) is the summary: up to Capacity (customer, count) pairs. A known customer adds to its count; a new one takes a free pair, or, when full, replaces the pair with the smallest count and starts from that count plus n (it may overestimate by that much, never underestimate). Estimate = the sum over slots of the customer's count (or, to be safe, the slot's smallest count when a full slot does not hold it). Hot: the customers some slot holds whose estimate >= Threshold x (events in the window), sorted by estimate descending, then name.",
		"type WindowDetector struct { cfg hot.Config; slots []*spaceSaving; cur int }; Observe adds to slots[cur]; Tick: cur = (cur+1) % Slots, then reset slots[cur]. spaceSaving { capacity int; total uint64; counts map[string]uint64 }: add(c, n): total += n; if present, counts[c] += n; else if len(counts) < capacity, counts[c] = n; else find the customer with the smallest count m (a linear scan is fine for 50-200 counters), delete it, counts[c] = m + n. Validate cfg with cfg.Validate().",
	},
	Reference: shard.NewDetector,
	Probe: func(f NewDetectorFunc) {
		if d, err := f(hot.Config{Slots: 2, Capacity: 4, Threshold: 0.5}); err == nil && d != nil {
			d.Observe("a", 1)
			_ = d.Hot()
		}
	},
	Checks: []exercise.Check[NewDetectorFunc]{
		{Name: "an invalid config is an error", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			for _, c := range []hot.Config{
				{Slots: 0, Capacity: 10, Threshold: 0.1}, {Slots: 2, Capacity: 0, Threshold: 0.1},
				{Slots: 2, Capacity: 10, Threshold: 0}, {Slots: 2, Capacity: 10, Threshold: 1.5},
				{Slots: 2, Capacity: 10, Threshold: math.NaN()}, {Slots: -1, Capacity: -1, Threshold: -1},
			} {
				d, err := f(c)
				require.Errorf(t, err, "NewDetector(%+v) returned %v and no error", c, d)
			}
		}},
		{Name: "an empty window has no hot customer", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			require.Emptyf(t, d.Hot(), "Hot() of a new detector")
			d.Tick()
			require.Emptyf(t, d.Hot(), "Hot() after one Tick and no event")
		}},
		{Name: "a customer sending a third of the events is hot, with its count", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			background(d, "a", 1000, 40)
			d.Observe("whale", 500)
			hits := d.Hot()
			require.NotEmptyf(t, hits, "Hot() after 1000 events over 40 customers and 500 from whale")
			require.Equalf(t, "whale", hits[0].Customer, "heaviest in Hot() after 1000 background events and 500 from whale")
			require.GreaterOrEqualf(t, hits[0].Count, uint64(500), "whale's count in Hot() (it sent 500)")
			require.LessOrEqualf(t, d.Estimate("whale"), uint64(500+1500/checkCfg.Capacity), "Estimate(whale) (it sent 500 of 1500; error at most 1500/%d)", checkCfg.Capacity)
		}},
		{Name: "a customer that heats up after the summary is full is still detected", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			background(d, "late", 5000, 5000) // 5000 distinct customers, far more than 50 counters
			for range 30 {
				d.Observe("late-whale", 50)
			}
			require.Containsf(t, names(d.Hot()), "late-whale", "Hot() after 5000 one-off customers then 1500 events from late-whale (23%% of the window)")
		}},
		{Name: "every customer at or above the threshold is reported, none below half of it", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			cfg, d, events, exact := zipfWindow(t, f)
			total := float64(len(events))
			got := map[string]bool{}
			for _, h := range d.Hot() {
				got[h.Customer] = true
				share := float64(exact[h.Customer]) / total
				require.GreaterOrEqualf(t, share, cfg.Threshold/2, "Hot() over 40,000 Zipf events (threshold %v) lists %s, whose true share is %.4f", cfg.Threshold, h.Customer, share)
			}
			for c, n := range exact {
				if float64(n)/total >= cfg.Threshold {
					require.Truef(t, got[c], "Hot() over 40,000 Zipf events (threshold %v) misses %s, whose true share is %.4f", cfg.Threshold, c, float64(n)/total)
				}
			}
		}},
		{Name: "estimates stay within window/Capacity of the true count", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			cfg, d, events, exact := zipfWindow(t, f)
			bound := float64(len(events)) / float64(cfg.Capacity)
			for c, n := range exact {
				if n < 100 {
					continue
				}
				est := float64(d.Estimate(c))
				require.LessOrEqualf(t, math.Abs(est-float64(n)), bound, "Estimate(%s) = %v over 40,000 Zipf events in 4 slots; it sent %d (allowed error %v)", c, est, n, bound)
			}
		}},
		{Name: "an estimate never falls below the true count (Space-Saving errs upward only)", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			_, d, _, exact := zipfWindow(t, f)
			for c, n := range exact {
				if est := d.Estimate(c); est < n {
					require.GreaterOrEqualf(t, est, n, "Estimate(%s) = %d over 40,000 Zipf events in 4 slots, but it sent %d: an under-count can hide a hot customer", c, est, n)
				}
			}
		}},
		{Name: "customers with equal counts come in name order", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			background(d, "t", 1000, 100)
			for _, c := range []string{"delta", "bravo", "charlie", "alpha"} {
				d.Observe(c, 300)
			}
			require.Equalf(t, []string{"alpha", "bravo", "charlie", "delta"}, names(d.Hot()), "Hot() with alpha, bravo, charlie and delta at 300 events each: ties must come in a stable order, or a dashboard reshuffles on every refresh")
		}},
		{Name: "hot customers come heaviest first", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			background(d, "o", 1000, 100)
			d.Observe("medium", 200)
			d.Observe("large", 400)
			d.Observe("small", 120)
			require.Equalf(t, []string{"large", "medium", "small"}, names(d.Hot()), "Hot() with large=400, medium=200, small=120 and 1000 background events")
		}},
		{Name: "a burst stays visible for the whole window", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			d.Observe("burst", 500)
			background(d, "s0", 500, 50)
			for tick := 1; tick < checkCfg.Slots; tick++ {
				d.Tick()
				background(d, fmt.Sprint("s", tick), 1000, 50)
				require.Truef(t, isHot(d, "burst"), "burst sent 500 events in slot 0; after %d tick(s) of a %d-slot window it is no longer hot (Hot() = %v)", tick, checkCfg.Slots, names(d.Hot()))
			}
		}},
		{Name: "a customer that stops sending cools down after the window", Hint: 2, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			d.Observe("burst", 500)
			background(d, "c0", 500, 50)
			for tick := 1; tick <= checkCfg.Slots; tick++ {
				d.Tick()
				background(d, fmt.Sprint("c", tick), 1000, 50)
			}
			require.Falsef(t, isHot(d, "burst"), "burst sent 500 events in slot 0 only; %d ticks later (a %d-slot window) it is still hot (Hot() = %v)", checkCfg.Slots, checkCfg.Slots, names(d.Hot()))
			require.LessOrEqualf(t, d.Estimate("burst"), uint64(4000/checkCfg.Capacity), "Estimate(burst) after it left the window")
		}},
		{Name: "memory stays bounded: at most Slots x Capacity counters for 100,000 customers", Hint: 1, Run: func(t exercise.T, f NewDetectorFunc) {
			d := build(t, f, checkCfg)
			for i := range 100_000 {
				if i%25_000 == 0 && i > 0 {
					d.Tick()
				}
				d.Observe(fmt.Sprintf("c%d", i), 1)
			}
			require.LessOrEqualf(t, d.Counters(), checkCfg.Slots*checkCfg.Capacity, "Counters() after 100,000 distinct customers (Slots %d x Capacity %d)", checkCfg.Slots, checkCfg.Capacity)
		}},
	},
})

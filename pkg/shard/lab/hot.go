package lab

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/hot"
	"github.com/dsgym/dsgym/pkg/shard/ingest"
	"github.com/dsgym/dsgym/pkg/shard/skew"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/tail"
)

// Epoch is the virtual instant the notebook's simulations start at.
var Epoch = time.Date(2025, 10, 26, 13, 0, 0, 0, time.UTC)

// SaltingConfig is the salting experiment: one simulated interval of the
// seed's traffic, pushed through the ingest simulator without and with
// salting of the customers that need it.
type SaltingConfig struct {
	Workload workload.Config
	Spec     shard.Spec
	Shards   int
	Policy   hot.Policy
	Duration time.Duration
}

// DefaultSalting is the notebook's: 10M events/s over 100K Zipf customers,
// jump hash on 10 shards, one simulated second, and the notebook's salt
// policy ([DefaultPolicy]).
func DefaultSalting() SaltingConfig {
	return SaltingConfig{Workload: workload.Default(), Spec: shard.Spec{Scheme: shard.Jump}, Shards: 10,
		Policy: DefaultPolicy(), Duration: time.Second}
}

// DefaultPolicy is the notebook's salt policy: one salt of a customer
// carries about 50K events/s (5% of a shard's mean load at 10 shards), at
// most 16 salts, a 25% dead band against estimation noise, and a factor is
// lowered only after 5 consecutive slots below need.
func DefaultPolicy() hot.Policy {
	return hot.Policy{PerSalt: 50e3, MaxSalts: 16, Cooldown: 5, Margin: 0.25}
}

// SaltedCustomer is a customer the policy salts.
type SaltedCustomer struct {
	ID    string
	Rank  int // 1 = busiest
	Rate  float64
	Salts int
}

// SaltingResult is the per-shard load without and with salting.
type SaltingResult struct {
	Shards            []int
	Before, After     []float64 // events/s per shard
	BeforeSkew        skew.Stats
	AfterSkew         skew.Stats
	Salted            []SaltedCustomer
	Events            uint64 // events simulated in each run
	HottestShareShard float64
}

// Salting runs the ingest simulator twice over the same events: first with
// no salting, then with every customer above the policy's per-salt rate
// spread over the salts it needs.
func Salting(c SaltingConfig) (SaltingResult, error) {
	if err := c.Policy.Validate(); err != nil {
		return SaltingResult{}, err
	}
	wl, err := workload.New(c.Workload)
	if err != nil {
		return SaltingResult{}, err
	}
	p, err := shard.NewN(c.Spec, c.Shards)
	if err != nil {
		return SaltingResult{}, err
	}
	cfg := ingest.Config{Workload: wl, Partitioner: p, Start: Epoch, Duration: c.Duration, Bucket: time.Hour, Stream: "salting"}
	before, err := ingest.Run(cfg)
	if err != nil {
		return SaltingResult{}, err
	}
	salts := map[int]int{}
	var salted []SaltedCustomer
	ids := wl.IDs()
	for r := range wl.Len() {
		i, _ := wl.ByRank(r)
		rate, _ := wl.Rate(i)
		k := c.Policy.Needed(rate)
		if k == 1 {
			break // ranks are by rate: the rest need no salt
		}
		salts[i] = k
		salted = append(salted, SaltedCustomer{ID: ids[i], Rank: r + 1, Rate: rate, Salts: k})
	}
	cfg.Salts = salts
	after, err := ingest.Run(cfg)
	if err != nil {
		return SaltingResult{}, err
	}
	res := SaltingResult{Shards: before.Shards, Before: before.Loads(c.Duration), After: after.Loads(c.Duration), Salted: salted, Events: before.Events}
	if res.BeforeSkew, err = skew.Of(res.Before); err != nil {
		return SaltingResult{}, err
	}
	if res.AfterSkew, err = skew.Of(res.After); err != nil {
		return SaltingResult{}, err
	}
	return res, nil
}

// FanOut is the read cost of one salt factor.
type FanOut struct {
	Salts      int
	Partitions int     // partitions one read touches
	P50, P99   float64 // read latency in ms
}

// FanOutConfig is the read-cost experiment: a read of one customer over
// Buckets time buckets touches Buckets x salts partitions and waits for the
// slowest (each partition read is pkg/tail's server: ~10 ms, 1% of reads x10).
type FanOutConfig struct {
	Seed     uint64
	Salts    []int
	Buckets  int
	Requests int
}

// DefaultFanOut is the notebook's: a one-hour read (one hourly bucket) at
// salt factors 1 to 64, 20,000 reads each.
func DefaultFanOut() FanOutConfig {
	return FanOutConfig{Seed: 1, Salts: []int{1, 2, 4, 8, 16, 32, 64}, Buckets: 1, Requests: 20_000}
}

// FanOutCost simulates reads at each salt factor.
func FanOutCost(c FanOutConfig) ([]FanOut, error) {
	if c.Buckets < 1 || c.Requests < 1 || len(c.Salts) == 0 {
		return nil, fmt.Errorf("lab: fan-out: need buckets >= 1, requests >= 1 and a salt factor, got %+v", c)
	}
	var out []FanOut
	for _, k := range c.Salts {
		if k < 1 {
			return nil, fmt.Errorf("lab: fan-out: salt factor %d is below 1", k)
		}
		cfg := tail.Default()
		cfg.Seed, cfg.FanOut, cfg.Requests = c.Seed, k*c.Buckets, c.Requests
		lat, err := tail.Simulate(cfg)
		if err != nil {
			return nil, err
		}
		slices.Sort(lat)
		out = append(out, FanOut{Salts: k, Partitions: k * c.Buckets, P50: lat[len(lat)/2], P99: lat[int(math.Ceil(0.99*float64(len(lat))))-1]})
	}
	return out, nil
}

// HotConfig is the detection experiment: a mid-ranked customer heats up to
// a large share of the traffic and cools down again, while a sampled stream
// of events feeds the heavy-hitter detector and its controller raises and
// lowers salt factors.
type HotConfig struct {
	Workload workload.Config
	Spec     shard.Spec
	Shards   int
	// Sample is the fraction of events the detector sees (ingest nodes
	// sample to keep detection cheap).
	Sample float64
	// Slot and Detector size the sliding window.
	Slot     time.Duration
	Detector hot.Config
	Policy   hot.Policy
	Duration time.Duration
	// The heating customer is the one of rank HeatRank (1 = busiest). Its
	// extra rate ramps from 0 at HeatStart to HeatPeak at HeatFull, holds,
	// and stops at HeatEnd.
	HeatRank                     int
	HeatPeak                     float64
	HeatStart, HeatFull, HeatEnd time.Duration
}

// DefaultHot is the notebook's: the seed's traffic on 10 shards (jump),
// 1-in-5,000 sampling, a 10-slot window of 1-second slots with 400 counters
// a slot, hot from 0.5% of the events (the share of one salt's 50K
// events/s), the notebook's salt policy, and the customer of rank 500
// heating up to an extra 1.2M events/s between 30 s and 60 s, until 120 s,
// over 3 minutes.
func DefaultHot() HotConfig {
	return HotConfig{
		Workload: workload.Default(), Spec: shard.Spec{Scheme: shard.Jump}, Shards: 10,
		Sample: 0.0002, Slot: time.Second,
		Detector: hot.Config{Slots: 10, Capacity: 400, Threshold: 0.005},
		Policy:   DefaultPolicy(),
		Duration: 180 * time.Second,
		HeatRank: 500, HeatPeak: 1.2e6, HeatStart: 30 * time.Second, HeatFull: 60 * time.Second, HeatEnd: 120 * time.Second,
	}
}

// HotTimeline is what the detection experiment recorded, one entry per slot.
type HotTimeline struct {
	Customer string    // the heating customer
	T        []float64 // seconds since the start (end of each slot)
	TrueRate []float64 // the heating customer's rate, events/s
	EstRate  []float64 // the controller's estimate of it
	Salts    []float64 // its salt factor after the slot's decision
	// MaxOverMean is the busiest shard's load over the mean, with the
	// detector's salting (Salted) and with no salting at all (Unsalted).
	Salted, Unsalted []float64
	Changes          []hot.Change
	Table            *hot.SaltTable
}

// HotDetection runs the detection experiment with the given detector
// constructor (solutions/shard.NewDetector, or yours).
func HotDetection(c HotConfig, newDetector func(hot.Config) (hot.Detector, error)) (HotTimeline, error) {
	switch {
	case newDetector == nil:
		return HotTimeline{}, fmt.Errorf("lab: hot: nil detector constructor")
	case !(c.Sample > 0 && c.Sample <= 1):
		return HotTimeline{}, fmt.Errorf("lab: hot: sample must be in (0, 1], got %v", c.Sample)
	case c.Slot <= 0 || c.Duration < c.Slot:
		return HotTimeline{}, fmt.Errorf("lab: hot: need 0 < slot <= duration, got %v and %v", c.Slot, c.Duration)
	case c.HeatPeak < 0 || c.HeatStart > c.HeatFull || c.HeatFull > c.HeatEnd:
		return HotTimeline{}, fmt.Errorf("lab: hot: need a non-negative peak and start <= full <= end")
	}
	wl, err := workload.New(c.Workload)
	if err != nil {
		return HotTimeline{}, err
	}
	p, err := shard.NewN(c.Spec, c.Shards)
	if err != nil {
		return HotTimeline{}, err
	}
	heat, err := wl.ByRank(c.HeatRank - 1)
	if err != nil {
		return HotTimeline{}, err
	}
	det, err := newDetector(c.Detector)
	if err != nil {
		return HotTimeline{}, err
	}
	if det == nil {
		return HotTimeline{}, fmt.Errorf("lab: hot: the detector constructor returned nil")
	}
	table := hot.NewSaltTable()
	ctl, err := hot.NewController(det, c.Detector, c.Policy, table, c.Slot, 1/c.Sample)
	if err != nil {
		return HotTimeline{}, err
	}
	ids, rates := wl.IDs(), wl.Rates()
	slotOf := map[int]int{}
	for i, id := range p.Shards() {
		slotOf[id] = i
	}
	home := make([]int, len(ids)) // each customer's unsalted shard slot
	base := make([]float64, c.Shards)
	for i, id := range ids {
		home[i] = slotOf[p.ShardOf(shard.Hash(id))]
		base[home[i]] += rates[i]
	}
	extra := func(t time.Duration) float64 {
		switch {
		case t < c.HeatStart || t >= c.HeatEnd:
			return 0
		case t >= c.HeatFull || c.HeatFull == c.HeatStart:
			return c.HeatPeak
		}
		return c.HeatPeak * float64(t-c.HeatStart) / float64(c.HeatFull-c.HeatStart)
	}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	stream := wl.Stream("hot")
	rng := sim.NewRand(c.Workload.Seed, "lab/hot/heat")
	tl := HotTimeline{Customer: ids[heat], Table: table}
	slots := int(c.Duration / c.Slot)
	for s := range slots {
		mid := time.Duration(s)*c.Slot + c.Slot/2
		ex := extra(mid)
		total := c.Workload.Rate + ex
		n := int(math.Round(total * c.Slot.Seconds() * c.Sample))
		pHeat := ex / total
		for range n {
			if ex > 0 && rng.Float64() < pHeat {
				det.Observe(ids[heat], 1)
				continue
			}
			det.Observe(ids[stream.Next()], 1)
		}
		end := Epoch.Add(time.Duration(s+1) * c.Slot)
		est := ctl.Rate(ids[heat])
		changes, err := ctl.Tick(end)
		if err != nil {
			return HotTimeline{}, err
		}
		tl.Changes = append(tl.Changes, changes...)
		rate := rates[heat] + ex
		tl.T = append(tl.T, (time.Duration(s+1) * c.Slot).Seconds())
		tl.TrueRate = append(tl.TrueRate, rate)
		tl.EstRate = append(tl.EstRate, est)
		tl.Salts = append(tl.Salts, float64(table.At(ids[heat], end)))

		// Per-shard loads in this slot: unsalted, and with the salt factors
		// in effect during the slot (decided at its start).
		unsalted := slices.Clone(base)
		unsalted[home[heat]] += ex
		salted := slices.Clone(unsalted)
		start := end.Add(-c.Slot)
		for _, cust := range table.Customers() {
			k := table.At(cust, start)
			i := index[cust]
			r := rates[i]
			if i == heat {
				r += ex
			}
			if k <= 1 {
				continue
			}
			sh, err := shard.SaltedShards(p, cust, k)
			if err != nil {
				return HotTimeline{}, err
			}
			salted[home[i]] -= r
			for _, id := range sh {
				salted[slotOf[id]] += r / float64(k)
			}
		}
		su, err := skew.Of(unsalted)
		if err != nil {
			return HotTimeline{}, err
		}
		ss, err := skew.Of(clampNonNeg(salted))
		if err != nil {
			return HotTimeline{}, err
		}
		tl.Unsalted = append(tl.Unsalted, su.MaxOverMean)
		tl.Salted = append(tl.Salted, ss.MaxOverMean)
	}
	return tl, nil
}

// clampNonNeg removes float noise below zero.
func clampNonNeg(v []float64) []float64 {
	for i := range v {
		if v[i] < 0 && v[i] > -1e-6 {
			v[i] = 0
		}
	}
	return v
}

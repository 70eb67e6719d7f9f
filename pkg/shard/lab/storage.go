package lab

import (
	"fmt"
	"math"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	"github.com/dsgym/dsgym/pkg/sim"
)

// Tier is a retention policy and the share of customers on it.
type Tier struct {
	Name      string
	Retention time.Duration
	Share     float64 // of customers, drawn per customer with the seed
}

// StorageConfig is the retention experiment: how much data the store holds
// over time when retention drops whole buckets.
type StorageConfig struct {
	Workload workload.Config
	Tiers    []Tier
	Horizon  time.Duration
	Step     time.Duration
	Buckets  []time.Duration
}

// DefaultStorage is the notebook's: the seed's traffic, customers on 7-,
// 30- and 90-day retention (30%, 50%, 20%), hourly and daily buckets, 120
// days sampled every 2 hours.
func DefaultStorage() StorageConfig {
	day := 24 * time.Hour
	return StorageConfig{
		Workload: workload.Default(),
		Tiers:    []Tier{{"7 days", 7 * day, 0.3}, {"30 days", 30 * day, 0.5}, {"90 days", 90 * day, 0.2}},
		Horizon:  120 * day, Step: 2 * time.Hour,
		Buckets: []time.Duration{time.Hour, day},
	}
}

// BucketName names a bucket width: "hourly", "daily", or the duration.
func BucketName(w time.Duration) string {
	switch w {
	case time.Hour:
		return "hourly"
	case 24 * time.Hour:
		return "daily"
	}
	return w.String()
}

// StorageSeries is the stored bytes over time for one bucket width.
type StorageSeries struct {
	Bucket time.Duration
	Bytes  []float64
}

// StorageResult is the retention experiment's output.
type StorageResult struct {
	Days      []float64
	Exact     []float64 // bytes if every point were deleted the instant it expires
	Series    []StorageSeries
	TierRates []float64 // events/s on each tier
	// DeletesPerDay compares the work: point deletes per day (without
	// buckets) and customer buckets dropped per day for each bucket width.
	PointDeletesPerDay    float64
	BucketDropsPerDay     []float64
	OverheadAtSteadyState []float64 // stored / exact - 1, averaged over the last 10 days
}

// Storage computes stored bytes (one copy) over time. A customer's bucket
// [b, b+W) is dropped once b+W+retention <= now, so at time t a customer
// keeps data back to the start of its oldest live bucket.
func Storage(c StorageConfig) (StorageResult, error) {
	if len(c.Tiers) == 0 || len(c.Buckets) == 0 {
		return StorageResult{}, fmt.Errorf("lab: storage: need at least one tier and one bucket width")
	}
	if c.Step <= 0 || c.Horizon < c.Step {
		return StorageResult{}, fmt.Errorf("lab: storage: need 0 < step <= horizon, got %v and %v", c.Step, c.Horizon)
	}
	share := 0.0
	for _, t := range c.Tiers {
		if t.Retention <= 0 || t.Share < 0 {
			return StorageResult{}, fmt.Errorf("lab: storage: tier %q needs a positive retention and a share >= 0", t.Name)
		}
		share += t.Share
	}
	if math.Abs(share-1) > 1e-9 {
		return StorageResult{}, fmt.Errorf("lab: storage: tier shares sum to %v, want 1", share)
	}
	for _, w := range c.Buckets {
		if w <= 0 {
			return StorageResult{}, fmt.Errorf("lab: storage: bucket width must be positive, got %v", w)
		}
	}
	wl, err := workload.New(c.Workload)
	if err != nil {
		return StorageResult{}, err
	}
	// Deal customers to tiers with the seed.
	rng := sim.NewRand(c.Workload.Seed, "lab/storage/tiers")
	res := StorageResult{TierRates: make([]float64, len(c.Tiers))}
	for _, r := range wl.Rates() {
		u, k := rng.Float64(), 0
		for acc := c.Tiers[0].Share; u >= acc && k < len(c.Tiers)-1; acc += c.Tiers[k].Share {
			k++
		}
		res.TierRates[k] += r
	}
	pb := float64(c.Workload.PointBytes)
	kept := func(t, ret, w time.Duration) time.Duration { // data span kept at t
		if t < ret {
			return t
		}
		deleted := (t - ret) / w * w // every bucket ending by t-ret is gone
		return t - deleted
	}
	res.Series = make([]StorageSeries, len(c.Buckets))
	for i, w := range c.Buckets {
		res.Series[i].Bucket = w
	}
	for t := c.Step; t <= c.Horizon; t += c.Step {
		res.Days = append(res.Days, t.Hours()/24)
		exact := 0.0
		for k, tier := range c.Tiers {
			exact += res.TierRates[k] * pb * min(t, tier.Retention).Seconds()
		}
		res.Exact = append(res.Exact, exact)
		for i, w := range c.Buckets {
			b := 0.0
			for k, tier := range c.Tiers {
				b += res.TierRates[k] * pb * kept(t, tier.Retention, w).Seconds()
			}
			res.Series[i].Bytes = append(res.Series[i].Bytes, b)
		}
	}
	res.PointDeletesPerDay = c.Workload.Rate * 86400
	for i, w := range c.Buckets {
		res.BucketDropsPerDay = append(res.BucketDropsPerDay, float64(c.Workload.Customers)*float64(24*time.Hour)/float64(w))
		tail := max(1, int(10*24*time.Hour/c.Step))
		sum, n := 0.0, 0
		for j := len(res.Days) - tail; j < len(res.Days); j++ {
			if j >= 0 && res.Exact[j] > 0 {
				sum += res.Series[i].Bytes[j]/res.Exact[j] - 1
				n++
			}
		}
		res.OverheadAtSteadyState = append(res.OverheadAtSteadyState, sum/float64(max(n, 1)))
	}
	return res, nil
}

// PlanSweep runs [shard.Plan] for each ingest rate (events/s), with the
// hottest customer scaled along.
func PlanSweep(base shard.Demand, rates []float64) ([]shard.PlanResult, error) {
	var out []shard.PlanResult
	for _, r := range rates {
		d := base
		if base.EventsPerSec > 0 {
			d.HottestPerSec = base.HottestPerSec * r / base.EventsPerSec
		}
		d.EventsPerSec = r
		p, err := shard.Plan(d)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SeedDemand is the interview's load with a plausible shard: 10M events/s
// of 16-byte points kept 90 days, 3 replicas across zones, a shard leader
// ingesting 1M events/s and 4 TB of disk per replica, 70% target
// utilisation, the ring's measured skew and the hottest Zipf customer.
func SeedDemand() shard.Demand {
	return shard.Demand{EventsPerSec: 10e6, PointBytes: 16, Retention: 90 * 24 * time.Hour, Replication: 3,
		ShardEventsPerSec: 1e6, ShardBytes: 4e12, Headroom: 0.7, Skew: 1.10, HottestPerSec: 0.078 * 10e6}
}

package shard

import (
	"fmt"
	"math"
	"time"
)

// Demand is what a sharded store must carry, and what one shard can.
type Demand struct {
	EventsPerSec float64       // total ingest rate
	PointBytes   float64       // stored bytes per event (after compression)
	Retention    time.Duration // how long data is kept
	Replication  int           // replicas per shard (3 across zones)
	// ShardEventsPerSec is how many events/s one shard's leader ingests at
	// most; ShardBytes is the disk of one replica.
	ShardEventsPerSec float64
	ShardBytes        float64
	// Headroom is the target utilisation in (0, 1]: 0.7 leaves 30% for
	// failover, compaction and growth.
	Headroom float64
	// Skew is the busiest shard's load over the mean (>= 1): the max/mean
	// measured for the chosen scheme and workload.
	Skew float64
	// HottestPerSec is the busiest single customer's rate (0 if unknown).
	HottestPerSec float64
}

// PlanResult is the number of shards a demand needs, and why.
type PlanResult struct {
	ByRate, ByStorage int     // shards needed for ingest, for disk
	Shards            int     // the larger of the two
	Binding           string  // "ingest" or "storage"
	StoredBytes       float64 // one copy of the retained data
	TotalBytes        float64 // all replicas
	Replicas          int     // shard replicas to place
	// HotSalts is how many salts the hottest customer needs so that no
	// single shard carries more than its headroom of it (1 = no salting).
	HotSalts int
}

// Plan computes how many shards a demand needs: enough that the busiest
// shard's ingest (mean times skew) stays under the headroom of one shard's
// capacity, and the busiest shard's retained bytes fit its disk.
func Plan(l Demand) (PlanResult, error) {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("plan: %s must be a positive number, got %v", name, v)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"events/s", l.EventsPerSec}, {"point size", l.PointBytes}, {"shard events/s", l.ShardEventsPerSec}, {"shard bytes", l.ShardBytes}} {
		if err := pos(c.name, c.v); err != nil {
			return PlanResult{}, err
		}
	}
	switch {
	case l.Retention <= 0:
		return PlanResult{}, fmt.Errorf("plan: retention must be positive, got %v", l.Retention)
	case l.Replication < 1:
		return PlanResult{}, fmt.Errorf("plan: replication must be at least 1, got %d", l.Replication)
	case !(l.Headroom > 0 && l.Headroom <= 1):
		return PlanResult{}, fmt.Errorf("plan: headroom must be in (0, 1], got %v", l.Headroom)
	case !(l.Skew >= 1) || math.IsInf(l.Skew, 0):
		return PlanResult{}, fmt.Errorf("plan: skew (max/mean) must be >= 1, got %v", l.Skew)
	case math.IsNaN(l.HottestPerSec) || l.HottestPerSec < 0 || l.HottestPerSec > l.EventsPerSec:
		return PlanResult{}, fmt.Errorf("plan: hottest customer's rate must be in [0, total rate], got %v", l.HottestPerSec)
	}
	r := PlanResult{}
	r.StoredBytes = l.EventsPerSec * l.Retention.Seconds() * l.PointBytes
	r.TotalBytes = r.StoredBytes * float64(l.Replication)
	r.ByRate = int(math.Ceil(l.EventsPerSec * l.Skew / (l.ShardEventsPerSec * l.Headroom)))
	r.ByStorage = int(math.Ceil(r.StoredBytes * l.Skew / (l.ShardBytes * l.Headroom)))
	r.Shards, r.Binding = r.ByRate, "ingest"
	if r.ByStorage > r.ByRate {
		r.Shards, r.Binding = r.ByStorage, "storage"
	}
	r.Replicas = r.Shards * l.Replication
	r.HotSalts = max(1, int(math.Ceil(l.HottestPerSec/(l.ShardEventsPerSec*l.Headroom))))
	return r, nil
}

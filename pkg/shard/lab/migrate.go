package lab

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	"github.com/dsgym/dsgym/pkg/sim"
)

// MigrationConfig is the routing-layer experiment: data migrates from N to
// N+1 shards range by range while writes keep arriving, and reads are
// checked at every step.
type MigrationConfig struct {
	Workload  workload.Config
	Shards    int
	RangeBits int // 2^RangeBits ranges migrate one after the other
	Specs     []shard.Spec
	// WritesPerStep is how many writes (customers drawn by rate) land
	// between two range copies; ReadsPerStep how many reads are checked.
	WritesPerStep, ReadsPerStep int
}

// DefaultMigration is the notebook's: the seed's customers, 10 -> 11
// shards, 64 ranges, 500 writes and 2,000 checked reads per step.
func DefaultMigration() MigrationConfig {
	return MigrationConfig{Workload: workload.Default(), Shards: 10, RangeBits: 6, WritesPerStep: 500, ReadsPerStep: 2000,
		Specs: []shard.Spec{{Scheme: shard.Modulo}, {Scheme: shard.Ring, VNodes: 256}, {Scheme: shard.Jump}, {Scheme: shard.Rendezvous}}}
}

// MigrationSeries is one scheme's migration.
type MigrationSeries struct {
	Spec       shard.Spec
	Done       []float64 // fraction of ranges migrated after each step (0 first)
	Copied     []float64 // fraction of all bytes copied so far
	Reads      int       // reads checked
	Stale      int       // reads that missed the latest write (must be 0)
	DualWrites int       // writes that went to two shards
}

// Migration runs the migration for every scheme behind a [shard.Router].
// Each customer holds one value with a version; a write bumps the version on
// every shard the router names; a range copy moves the values whose owner
// changes; a read must find the latest version on the shard the router
// names.
func Migration(c MigrationConfig) ([]MigrationSeries, error) {
	wl, err := workload.New(c.Workload)
	if err != nil {
		return nil, err
	}
	ids := wl.IDs()
	hs, err := shard.Hashes(ids)
	if err != nil {
		return nil, err
	}
	rates := wl.Rates()
	total := 0.0
	for _, r := range rates {
		total += r
	}
	var out []MigrationSeries
	for _, sp := range c.Specs {
		p, err := shard.NewN(sp, c.Shards)
		if err != nil {
			return nil, err
		}
		router, err := shard.NewRouter(p, c.RangeBits)
		if err != nil {
			return nil, err
		}
		byRange := make([][]int32, router.Ranges())
		for i, h := range hs {
			r := router.RangeOf(h)
			byRange[r] = append(byRange[r], int32(i))
		}
		// data[shard][customer] = version held there (0: none);
		// latest[customer] = the last version written.
		data := map[int][]uint32{}
		latest := make([]uint32, len(ids))
		get := func(shardID int, cust int32) uint32 {
			if m := data[shardID]; m != nil {
				return m[cust]
			}
			return 0
		}
		put := func(shardID int, cust int32, v uint32) {
			m := data[shardID]
			if m == nil {
				m = make([]uint32, len(ids))
				data[shardID] = m
			}
			m[cust] = v
		}
		for i, h := range hs {
			read, _ := router.Route(h)
			put(read, int32(i), 1)
			latest[i] = 1
		}
		next, err := shard.Grow(p)
		if err != nil {
			return nil, err
		}
		if err := router.Begin(next); err != nil {
			return nil, err
		}
		s := MigrationSeries{Spec: sp, Done: []float64{0}, Copied: []float64{0}}
		stream := wl.Stream("migration")
		rng := sim.NewRand(c.Workload.Seed, "lab/migration/reads")
		copied := 0.0
		for r := range router.Ranges() {
			for range c.WritesPerStep {
				cust := stream.Next()
				latest[cust]++
				_, writes := router.Route(hs[cust])
				for _, w := range writes {
					put(w, int32(cust), latest[cust])
				}
				if len(writes) > 1 {
					s.DualWrites++
				}
			}
			for _, cust := range byRange[r] {
				old, nw := router.Owners(hs[cust])
				if old != nw {
					put(nw, cust, get(old, cust))
					put(old, cust, 0)
					copied += rates[cust]
				}
			}
			if err := router.Done(r); err != nil {
				return nil, err
			}
			for range c.ReadsPerStep {
				cust := rng.IntN(len(ids))
				read, _ := router.Route(hs[cust])
				s.Reads++
				if get(read, int32(cust)) != latest[cust] {
					s.Stale++
				}
			}
			s.Done = append(s.Done, float64(r+1)/float64(router.Ranges()))
			s.Copied = append(s.Copied, copied/total)
		}
		for i, h := range hs { // every customer once more, at the end
			read, _ := router.Route(h)
			s.Reads++
			if get(read, int32(i)) != latest[i] {
				s.Stale++
			}
		}
		if on, _ := router.Migrating(); on {
			return nil, fmt.Errorf("lab: migration of %v did not finish", sp)
		}
		out = append(out, s)
	}
	return out, nil
}

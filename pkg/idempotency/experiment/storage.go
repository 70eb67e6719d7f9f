package experiment

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	"github.com/dsgym/dsgym/pkg/sim"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

// StorageConfig configures [StorageVsTTL].
type StorageConfig struct {
	// Seed draws the arrivals (a Poisson process).
	Seed uint64
	// PerMinute is the mean rate of new keys per simulated minute (default 2).
	PerMinute float64
	// Hours is how long to simulate (default 48).
	Hours int
	// TTLs are the retention times to compare (default 6 h, 12 h, 24 h).
	TTLs []time.Duration
	// SweepEvery is the sweeper's period (default 30 min); the table is
	// measured just before each sweep, at its fullest.
	SweepEvery time.Duration
	// Batch is the sweep's limit per statement (default 500).
	Batch int
	// Steps plug in the learner's claim and sweep.
	Steps Steps
}

func (c *StorageConfig) defaults() error {
	if c.PerMinute == 0 {
		c.PerMinute = 2
	}
	if c.Hours == 0 {
		c.Hours = 48
	}
	if c.TTLs == nil {
		c.TTLs = []time.Duration{6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = 30 * time.Minute
	}
	if c.Batch == 0 {
		c.Batch = 500
	}
	if !(c.PerMinute > 0) || c.Hours < 1 || c.SweepEvery <= 0 || c.Batch < 1 {
		return fmt.Errorf("storage: rate (%v/min), hours (%d), sweep period (%v) and batch (%d) must be positive", c.PerMinute, c.Hours, c.SweepEvery, c.Batch)
	}
	for _, ttl := range c.TTLs {
		if ttl < time.Minute {
			return fmt.Errorf("storage: TTL %v is under a minute", ttl)
		}
	}
	return nil
}

// StorageSeries is the dedupe table over simulated time for one TTL.
type StorageSeries struct {
	TTL   time.Duration
	Hours []float64 // sample times
	Rows  []float64 // rows just before each sweep
	Bytes []float64 // bytes of data in them
	// Steady is the model: rate × (TTL + sweep period), the most rows the
	// table holds once it stops growing.
	Steady      float64
	BytesPerRow float64
	Deleted     int64
}

// StorageVsTTL simulates keys arriving for cfg.Hours of virtual time into a
// real dedupe table, each claimed and completed, with the sweeper running
// every cfg.SweepEvery, and records how many rows the table holds for each
// TTL. The clock is simulated: two days take well under a second.
func StorageVsTTL(ctx context.Context, env Env, cfg StorageConfig) ([]StorageSeries, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	claim, sweep := cfg.Steps.Claim, cfg.Steps.Sweep
	if claim == nil {
		claim = solution.Claim
	}
	if sweep == nil {
		sweep = solution.Sweep
	}
	var out []StorageSeries
	for _, ttl := range cfg.TTLs {
		st, err := env.open(ctx)
		if err != nil {
			return nil, err
		}
		s, err := storageRun(ctx, st, cfg, ttl, claim, sweep)
		st.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func storageRun(ctx context.Context, st *idempotency.Store, cfg StorageConfig, ttl time.Duration, claim dedupe.ClaimFunc, sweep dedupe.SweepFunc) (StorageSeries, error) {
	rng := sim.NewRand(cfg.Seed, "storage-arrivals")
	keyRng := sim.NewRand(cfg.Seed, "storage-keys")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(cfg.Hours) * time.Hour)
	series := StorageSeries{TTL: ttl, Steady: cfg.PerMinute * (ttl + cfg.SweepEvery).Minutes()}
	next := start.Add(time.Duration(rng.ExpFloat64() / cfg.PerMinute * float64(time.Minute)))
	n := 0
	for window := start; window.Before(end); window = window.Add(cfg.SweepEvery) {
		stop := window.Add(cfg.SweepEvery)
		// One transaction per window: the claims and completions of the
		// keys that arrive in it.
		tx, err := st.Begin(ctx)
		if err != nil {
			return series, err
		}
		for ; next.Before(stop); next = next.Add(time.Duration(rng.ExpFloat64() / cfg.PerMinute * float64(time.Minute))) {
			key, _ := idempotency.NewKey(keyRng)
			lease := fmt.Sprint("lease-", n)
			c, err := claim(ctx, tx, dedupe.Request{Key: key, Hash: fmt.Sprintf("%064x", n), Lease: lease, Now: next, TTL: ttl, LeaseFor: time.Minute})
			if err != nil {
				_ = tx.Rollback()
				return series, fmt.Errorf("claim at %v: %w", next.Sub(start), err)
			}
			if c.Outcome != dedupe.Claimed {
				_ = tx.Rollback()
				return series, fmt.Errorf("claim of a new key at %v: %v, want claimed", next.Sub(start), c.Outcome)
			}
			body := fmt.Sprintf(`{"seq":%d,"id":"reading-%d"}`, n+1, n)
			if err := st.Complete(ctx, tx, key, lease, dedupe.Response{Status: 201, ContentType: "application/json", Body: []byte(body), Reference: fmt.Sprint("/events/", n+1)}); err != nil {
				_ = tx.Rollback()
				return series, err
			}
			n++
		}
		if err := tx.Commit(); err != nil {
			return series, err
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			return series, err
		}
		series.Hours = append(series.Hours, math.Round(stop.Sub(start).Hours()*100)/100)
		series.Rows = append(series.Rows, float64(stats.Rows))
		series.Bytes = append(series.Bytes, float64(stats.DataBytes))
		if stats.Rows > 0 {
			series.BytesPerRow = float64(stats.DataBytes) / float64(stats.Rows)
		}
		for range 10_000 { // bounded: a sweep that always reports a full batch cannot loop forever
			d, err := sweep(ctx, st.Querier(), stop, cfg.Batch)
			if err != nil {
				return series, fmt.Errorf("sweep at %v: %w", stop.Sub(start), err)
			}
			series.Deleted += d
			if d < int64(cfg.Batch) {
				break
			}
		}
	}
	return series, nil
}

package idempotency

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

// SweeperConfig configures the TTL sweeper.
type SweeperConfig struct {
	// Store holds the dedupe table (required).
	Store *Store
	// Every is the time between sweeps (default 1 min).
	Every time.Duration
	// Batch is the most rows deleted per statement (default 1000): short
	// statements keep the table's locks short.
	Batch int
	// Sweep is the sweep step (default: the reference solution).
	Sweep dedupe.SweepFunc
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logf logs sweep errors (default log.Printf).
	Logf func(format string, args ...any)
}

// Sweeper deletes expired keys from the dedupe table, in the background or
// on demand.
type Sweeper struct {
	cfg     SweeperConfig
	mu      sync.Mutex
	runs    int64
	deleted int64
	lastErr error
	stop    context.CancelFunc
	done    chan struct{}
}

// NewSweeper returns a sweeper that runs only when asked (see
// [Sweeper.SweepOnce]).
func NewSweeper(cfg SweeperConfig) (*Sweeper, error) {
	if cfg.Store == nil {
		return nil, errors.New("sweeper: no store")
	}
	if cfg.Every == 0 {
		cfg.Every = time.Minute
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1000
	}
	if cfg.Every < 0 || cfg.Batch < 1 {
		return nil, fmt.Errorf("sweeper: Every (%v) must be positive and Batch (%d) at least 1", cfg.Every, cfg.Batch)
	}
	if cfg.Sweep == nil {
		cfg.Sweep = solution.Sweep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	return &Sweeper{cfg: cfg}, nil
}

// StartSweeper starts a sweeper that runs every cfg.Every until ctx is done
// or Stop is called.
func StartSweeper(ctx context.Context, cfg SweeperConfig) (*Sweeper, error) {
	s, err := NewSweeper(cfg)
	if err != nil {
		return nil, err
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
					s.cfg.Logf("idempotency sweeper: %v", err)
				}
			}
		}
	}()
	return s, nil
}

// SweepOnce deletes every key expired now, a batch at a time, and returns
// how many it deleted.
func (s *Sweeper) SweepOnce(ctx context.Context) (int64, error) {
	if s == nil {
		return 0, errors.New("sweep: no sweeper (nil *Sweeper; use NewSweeper)")
	}
	now := s.cfg.Now()
	var total int64
	var err error
	// A bounded number of batches, so that a sweep step that always reports
	// a full batch cannot loop forever.
	for range 100_000 {
		var n int64
		n, err = s.sweep(ctx, now)
		total += n
		if err != nil || n < int64(s.cfg.Batch) || ctx.Err() != nil {
			break
		}
	}
	s.mu.Lock()
	s.runs++
	s.deleted += total
	s.lastErr = err
	s.mu.Unlock()
	return total, err
}

func (s *Sweeper) sweep(ctx context.Context, now time.Time) (n int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the sweep step panicked: %v", v)
		}
	}()
	n, err = s.cfg.Sweep(ctx, s.cfg.Store.Querier(), now, s.cfg.Batch)
	if err == nil && (n < 0 || n > int64(s.cfg.Batch)) {
		err = fmt.Errorf("the sweep step deleted %d rows with a limit of %d", n, s.cfg.Batch)
	}
	return n, err
}

// SweeperStats counts a sweeper's work.
type SweeperStats struct {
	Runs    int64 // sweeps run
	Deleted int64 // rows deleted, all sweeps together
	LastErr error // the last sweep's error, if any
}

// Stats returns the counts so far.
func (s *Sweeper) Stats() SweeperStats {
	if s == nil {
		return SweeperStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return SweeperStats{s.runs, s.deleted, s.lastErr}
}

// Stop stops a started sweeper and waits for it.
func (s *Sweeper) Stop() {
	if s == nil || s.stop == nil {
		return
	}
	s.stop()
	<-s.done
}

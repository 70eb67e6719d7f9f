package experiment

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/sim"
)

// RestartConfig configures [RestartStorm].
type RestartConfig struct {
	// Seed draws the keys and every attempt's fate.
	Seed uint64
	// Events is how many events the producers send (default 400).
	Events int
	// Workers is how many producers send at once (default 8).
	Workers int
	// LossRate is the per-attempt failure probability (default 0.2).
	LossRate float64
	// CrashAfter is how many acknowledged events the server handles before
	// it crashes (default Events/3); Down is how long it stays down
	// (default 100 ms).
	CrashAfter int
	Down       time.Duration
	// Mode is the middleware's mode (default TwoTransactions); Lease its
	// lease (default 150 ms, so that claims left by the crash are taken
	// over soon).
	Mode  idempotency.Mode
	Lease time.Duration
	// Work is the server's processing time per event (default 3 ms): the
	// longer it is, the more requests the crash catches in progress.
	Work time.Duration
	// Bucket is the timeline's resolution (default 25 ms).
	Bucket time.Duration
	Steps  Steps
}

func (c *RestartConfig) defaults() error {
	if c.Events == 0 {
		c.Events = 400
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.LossRate == 0 {
		c.LossRate = 0.2
	}
	if c.CrashAfter == 0 {
		c.CrashAfter = c.Events / 3
	}
	if c.Down == 0 {
		c.Down = 100 * time.Millisecond
	}
	if c.Lease == 0 {
		c.Lease = 150 * time.Millisecond
	}
	if c.Bucket == 0 {
		c.Bucket = 25 * time.Millisecond
	}
	if c.Work == 0 {
		c.Work = 3 * time.Millisecond
	}
	if c.Events < 1 || c.Workers < 1 || c.CrashAfter < 1 || c.CrashAfter >= c.Events || c.LossRate < 0 || c.LossRate >= 1 {
		return fmt.Errorf("restart storm: need events >= 1, workers >= 1, 1 <= crash after (%d) < events (%d), loss rate in [0, 1)", c.CrashAfter, c.Events)
	}
	return nil
}

// Bucket is one slice of the restart timeline: what the producers' attempts
// got in it.
type Bucket struct {
	At                              time.Duration // start of the slice, since the storm began
	Created, Replayed, Conflicts    int
	Refused, Faulted, ServerErrored int // connection refused/reset by the crash; injected faults; 5xx
}

// RestartResult is [RestartStorm]'s outcome.
type RestartResult struct {
	Events   int
	Effects  int64
	Distinct int64
	// Duplicates are effects beyond one per event; Lost are events never
	// stored; Unacknowledged are events whose producer gave up.
	Duplicates, Lost, Unacknowledged int
	CrashAt, RestartAt               time.Duration
	Timeline                         []Bucket
	// InFlightAtCrash is how many claims the crash left in the table (read
	// while the server is down).
	InFlightAtCrash int64
}

// RestartStorm sends cfg.Events events through faults; after cfg.CrashAfter
// of them are acknowledged the server crashes (requests in progress are
// cut, their transactions roll back, claims in flight stay), stays down for
// cfg.Down, and restarts on the same address and database. It returns the
// effects and a timeline of what producers saw.
func RestartStorm(ctx context.Context, env Env, cfg RestartConfig) (RestartResult, error) {
	if err := cfg.defaults(); err != nil {
		return RestartResult{}, err
	}
	st, err := env.open(ctx)
	if err != nil {
		return RestartResult{}, err
	}
	defer st.Close()
	opts := idempotency.Options{Mode: cfg.Mode, Lease: cfg.Lease, Claim: cfg.Steps.Claim, Hash: cfg.Steps.Hash, Logf: quiet}
	scfg := idempotency.ServerConfig{Store: st, Idempotency: &opts, SweepEvery: -1, Work: cfg.Work}
	srv, err := idempotency.Start(scfg)
	if err != nil {
		return RestartResult{}, err
	}
	scfg.Addr = srv.Addr
	var cur atomic.Pointer[idempotency.Server]
	cur.Store(srv)
	defer func() { cur.Load().Close() }()

	faults := Split(cfg.Seed, cfg.LossRate)
	c, err := newClient(srv.URL, faults, idempotency.SameKey, cfg.Seed, 60)
	if err != nil {
		return RestartResult{}, err
	}
	defer c.CloseIdle()
	keyRng := sim.NewRand(cfg.Seed, "restart-keys")
	keys := make([]string, cfg.Events)
	for i := range keys {
		keys[i], _ = idempotency.NewKey(keyRng)
	}
	res := RestartResult{Events: cfg.Events}
	var (
		mu       sync.Mutex
		attempts []idempotency.Attempt
		firstErr error
		acked    atomic.Int32
		crash    sync.Once
		restart  = make(chan error, 1)
	)
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cfg.Events; i += cfg.Workers {
				ev := idempotency.Event{ID: fmt.Sprintf("ev-%04d", i), Source: "restart", Type: "reading"}
				r, err := c.PostEvent(ctx, keys[i], ev)
				mu.Lock()
				attempts = append(attempts, r.Attempts...)
				if err != nil {
					res.Unacknowledged++
				} else if r.Status != 201 && firstErr == nil {
					firstErr = fmt.Errorf("event %s: status %d: %s", ev.ID, r.Status, r.Body)
				}
				mu.Unlock()
				if int(acked.Add(1)) == cfg.CrashAfter {
					crash.Do(func() {
						go func() {
							res.CrashAt = time.Since(begin)
							cur.Load().Crash()
							time.Sleep(cfg.Down)
							if n, err := inFlight(ctx, st); err == nil {
								res.InFlightAtCrash = n
							}
							var err error
							for range 200 { // the port can take a moment to free
								var s *idempotency.Server
								if s, err = idempotency.Start(scfg); err == nil {
									cur.Store(s)
									break
								}
								time.Sleep(5 * time.Millisecond)
							}
							res.RestartAt = time.Since(begin)
							restart <- err
						}()
					})
				}
			}
		}()
	}
	wg.Wait()
	faults.Wait()
	if err := <-restart; err != nil {
		return res, fmt.Errorf("restart: %w", err)
	}
	if firstErr != nil {
		return res, firstErr
	}
	per, err := st.EffectsPerEvent(ctx)
	if err != nil {
		return res, err
	}
	for _, n := range per {
		res.Effects += int64(n)
		res.Distinct++
	}
	res.Duplicates = int(res.Effects - res.Distinct)
	res.Lost = cfg.Events - int(res.Distinct)
	res.Timeline = timeline(attempts, begin, cfg.Bucket)
	return res, nil
}

func inFlight(ctx context.Context, st *idempotency.Store) (int64, error) {
	s, err := st.Stats(ctx)
	return s.InFlight, err
}

func timeline(attempts []idempotency.Attempt, begin time.Time, bucket time.Duration) []Bucket {
	sort.Slice(attempts, func(i, j int) bool { return attempts[i].Start.Before(attempts[j].Start) })
	var out []Bucket
	for _, a := range attempts {
		i := int(a.Start.Sub(begin) / bucket)
		for len(out) <= i {
			out = append(out, Bucket{At: time.Duration(len(out)) * bucket})
		}
		b := &out[i]
		switch {
		case a.Fault != idempotency.NoFault:
			b.Faulted++
		case a.Err != "":
			b.Refused++
		case a.Status == 201 && a.Replayed:
			b.Replayed++
		case a.Status == 201:
			b.Created++
		case a.Status == 409:
			b.Conflicts++
		default:
			b.ServerErrored++
		}
	}
	return out
}

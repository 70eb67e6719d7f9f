package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/sim"
)

// StormConfig configures [Storm].
type StormConfig struct {
	// Seed draws the keys and every attempt's fate.
	Seed uint64
	// Events is how many logical events are sent per loss rate (default 150).
	Events int
	// LossRates are the per-attempt failure probabilities to sweep
	// (default 0, 0.1, ..., 0.5). A failure is a lost request (40% of
	// them), a lost response (40%) or a timeout (20%).
	LossRates []float64
	// Policies are the client behaviours compared (default: no key, a new
	// key per attempt, the same key on every retry).
	Policies []idempotency.KeyPolicy
	// Workers is how many producers send at once (default 8).
	Workers int
	// MaxAttempts bounds each event's attempts (default 12).
	MaxAttempts int
	// Mode is the middleware's mode (default TwoTransactions).
	Mode idempotency.Mode
	// Steps plug in the learner's claim and hash.
	Steps Steps
}

func (c *StormConfig) defaults() error {
	if c.Events == 0 {
		c.Events = 150
	}
	if c.LossRates == nil {
		c.LossRates = []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}
	}
	if c.Policies == nil {
		c.Policies = []idempotency.KeyPolicy{idempotency.NoKey, idempotency.NewKeyPerAttempt, idempotency.SameKey}
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 12
	}
	if c.Events < 1 || c.Workers < 1 || c.MaxAttempts < 1 {
		return fmt.Errorf("storm: events (%d), workers (%d) and attempts (%d) must be at least 1", c.Events, c.Workers, c.MaxAttempts)
	}
	for _, p := range c.LossRates {
		if !(p >= 0 && p < 1) {
			return fmt.Errorf("storm: loss rate %v is outside [0, 1)", p)
		}
	}
	return nil
}

// Split turns a per-attempt failure probability into the three faults.
func Split(seed uint64, p float64) *idempotency.Faults {
	return &idempotency.Faults{Seed: seed, DropRequest: 0.4 * p, LoseResponse: 0.4 * p, Timeout: 0.2 * p}
}

// ExpectedDuplicates is the model for a client without keys that retries
// until an attempt succeeds: each failed attempt that reached the server
// (a lost response or a timeout, 60% of failures) left one extra effect,
// and an event fails p/(1-p) attempts on average, so it is duplicated
// 0.6·p/(1-p) times.
func ExpectedDuplicates(p float64) float64 { return 0.6 * p / (1 - p) }

// StormPoint is the outcome of one loss rate and client policy.
type StormPoint struct {
	LossRate float64
	Policy   idempotency.KeyPolicy
	Events   int // logical events sent
	Effects  int // events stored
	// Duplicates are effects beyond one per event; Lost are events never
	// stored; Unacknowledged are events whose producer gave up.
	Duplicates, Lost, Unacknowledged int
	Attempts                         int // attempts, all events together
	Faults                           idempotency.FaultCounts
}

// Storm sends cfg.Events events through a fault-injecting transport at each
// loss rate, once per client policy, and counts the effects. The counts are
// the same for the same seed.
func Storm(ctx context.Context, env Env, cfg StormConfig) ([]StormPoint, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	keyRng := sim.NewRand(cfg.Seed, "storm-keys")
	keys := make([]string, cfg.Events*len(cfg.LossRates))
	for i := range keys {
		keys[i], _ = idempotency.NewKey(keyRng)
	}
	var out []StormPoint
	for _, policy := range cfg.Policies {
		var opts *idempotency.Options
		if policy != idempotency.NoKey {
			opts = &idempotency.Options{Mode: cfg.Mode}
		}
		svc, err := start(ctx, env, opts, cfg.Steps, 0)
		if err != nil {
			return nil, err
		}
		for ri, p := range cfg.LossRates {
			pt, err := stormOnce(ctx, svc, cfg, policy, ri, p, keys[ri*cfg.Events:(ri+1)*cfg.Events])
			if err != nil {
				svc.close()
				return nil, err
			}
			out = append(out, pt)
		}
		svc.close()
	}
	return out, nil
}

func stormOnce(ctx context.Context, svc *service, cfg StormConfig, policy idempotency.KeyPolicy, ri int, p float64, keys []string) (StormPoint, error) {
	faults := Split(cfg.Seed, p)
	c, err := newClient(svc.srv.URL, faults, policy, cfg.Seed, cfg.MaxAttempts)
	if err != nil {
		return StormPoint{}, err
	}
	defer c.CloseIdle()
	prefix := fmt.Sprintf("r%d-", ri)
	pt := StormPoint{LossRate: p, Policy: policy, Events: cfg.Events}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cfg.Events; i += cfg.Workers {
				ev := idempotency.Event{ID: fmt.Sprintf("%s%04d", prefix, i), Source: "storm", Type: "reading"}
				res, err := c.PostEvent(ctx, keys[i], ev)
				mu.Lock()
				pt.Attempts += len(res.Attempts)
				if err != nil {
					if errors.Is(err, idempotency.ErrGaveUp) {
						pt.Unacknowledged++
					} else if firstErr == nil {
						firstErr = err
					}
				} else if res.Status != 201 && firstErr == nil {
					firstErr = fmt.Errorf("event %s: status %d: %s", ev.ID, res.Status, res.Body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	faults.Wait()
	if firstErr != nil {
		return StormPoint{}, firstErr
	}
	per, err := svc.store.EffectsPerEvent(ctx)
	if err != nil {
		return StormPoint{}, err
	}
	stored := 0
	for id, n := range per {
		if strings.HasPrefix(id, prefix) {
			stored++
			pt.Effects += n
		}
	}
	pt.Lost = cfg.Events - stored
	pt.Duplicates = pt.Effects - stored
	pt.Faults = faults.Counts()
	return pt, nil
}

// DuplicatesPerThousand is the chart's y value.
func (p StormPoint) DuplicatesPerThousand() float64 {
	return math.Round(1000*float64(p.Duplicates)/float64(p.Events)*10) / 10
}

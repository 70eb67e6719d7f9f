package experiment

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency"
)

// CostPoint is the measured cost of one configuration.
type CostPoint struct {
	Env    string
	Config string
	// Requests were sent by Workers concurrent clients.
	Requests, Workers int
	PerSecond         float64
	P50, P99          float64 // latency, milliseconds
	// PerCommit is the transactions per SQLite group commit (0 elsewhere).
	PerCommit float64
}

// CostConfigs are the configurations [Cost] measures, in order.
var CostConfigs = []string{"no dedupe", "one transaction", "two transactions", "replays"}

// Cost measures throughput and latency of the ingestion API on env: without
// the dedupe table ("no dedupe", the baseline), with it in each mode (fresh
// keys), and for retries that are all replays. Timings vary with the
// machine: run it twice and compare the ratios, not the digits.
func Cost(ctx context.Context, env Env, requests, workers int, steps Steps) ([]CostPoint, error) {
	return costRound(ctx, env, requests, workers, steps, 0)
}

// costOf serves one configuration and loads it; with replays, it sends the
// same requests a second time.
func costOf(ctx context.Context, env Env, opts *idempotency.Options, keys idempotency.KeyPolicy, steps Steps, requests, workers int, replays bool) ([]CostPoint, error) {
	svc, err := start(ctx, env, opts, steps, 0)
	if err != nil {
		return nil, err
	}
	defer svc.close()
	c, err := newClient(svc.srv.URL, nil, keys, 1, 3)
	if err != nil {
		return nil, err
	}
	defer c.CloseIdle()
	if _, err := load(ctx, c, "warm", requests/10+workers, workers); err != nil {
		return nil, err
	}
	c0, t0 := svc.store.GroupCommits()
	pt, err := load(ctx, c, "run", requests, workers)
	if err != nil {
		return nil, err
	}
	if c1, t1 := svc.store.GroupCommits(); c1 > c0 {
		pt.PerCommit = float64(t1-t0) / float64(c1-c0)
	}
	out := []CostPoint{pt}
	if replays {
		rp, err := load(ctx, c, "run", requests, workers)
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, nil
}

// load sends n events with workers concurrent senders and measures them.
func load(ctx context.Context, c *idempotency.Client, prefix string, n, workers int) (CostPoint, error) {
	lat := make([]float64, n)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				id := fmt.Sprintf("%s-%06d", prefix, i)
				t := time.Now()
				res, err := c.PostEvent(ctx, "key-"+id, idempotency.Event{ID: id, Source: "cost", Type: "reading"})
				lat[i] = float64(time.Since(t).Microseconds()) / 1000
				if err == nil && res.Status != 201 {
					err = fmt.Errorf("event %s: status %d: %s", id, res.Status, res.Body)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return CostPoint{}, firstErr
	}
	slices.Sort(lat)
	return CostPoint{Requests: n, Workers: workers, PerSecond: float64(n) / elapsed.Seconds(),
		P50: lat[(n-1)/2], P99: lat[min(n-1, (99*n+99)/100-1)]}, nil
}

// CostSpread is one configuration measured over several interleaved
// rounds: the median of each figure, with the range of the throughput.
type CostSpread struct {
	CostPoint            // the medians
	Rounds               int
	MinPerSec, MaxPerSec float64
}

// CostRounds runs [Cost]'s measurement rounds times, interleaved: each
// round measures every configuration once, starting from a different one,
// so that a slow moment of the machine (a compaction, another process)
// falls on different configurations in different rounds instead of on
// one. It reports each configuration's medians and its throughput's
// range, the figures to compare: one round's digits are noise.
func CostRounds(ctx context.Context, env Env, requests, workers, rounds int, steps Steps) ([]CostSpread, error) {
	if rounds < 1 || rounds > 50 {
		return nil, fmt.Errorf("cost: rounds must be between 1 and 50, not %d", rounds)
	}
	byConfig := make([][]CostPoint, len(CostConfigs))
	for r := range rounds {
		pts, err := costRound(ctx, env, requests, workers, steps, r)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r+1, err)
		}
		for i, p := range pts {
			byConfig[i] = append(byConfig[i], p)
		}
	}
	out := make([]CostSpread, len(CostConfigs))
	for i, ps := range byConfig {
		med := func(f func(CostPoint) float64) float64 {
			v := make([]float64, len(ps))
			for j, p := range ps {
				v[j] = f(p)
			}
			slices.Sort(v)
			if len(v)%2 == 1 {
				return v[len(v)/2]
			}
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		s := CostSpread{Rounds: rounds, MinPerSec: ps[0].PerSecond, MaxPerSec: ps[0].PerSecond}
		s.CostPoint = ps[0]
		s.PerSecond = med(func(p CostPoint) float64 { return p.PerSecond })
		s.P50 = med(func(p CostPoint) float64 { return p.P50 })
		s.P99 = med(func(p CostPoint) float64 { return p.P99 })
		s.PerCommit = med(func(p CostPoint) float64 { return p.PerCommit })
		for _, p := range ps {
			s.MinPerSec, s.MaxPerSec = min(s.MinPerSec, p.PerSecond), max(s.MaxPerSec, p.PerSecond)
		}
		out[i] = s
	}
	return out, nil
}

// costRound measures every configuration once, the three services in the
// order rotated by offset; the result is in CostConfigs' order.
func costRound(ctx context.Context, env Env, requests, workers int, steps Steps, offset int) ([]CostPoint, error) {
	if requests < workers || workers < 1 {
		return nil, fmt.Errorf("cost: need requests (%d) >= workers (%d) >= 1", requests, workers)
	}
	byName := map[string]CostPoint{}
	names := CostConfigs[:3]
	for k := range names {
		name := names[(k+offset)%len(names)]
		var opts *idempotency.Options
		keys := idempotency.NoKey
		switch name {
		case "one transaction":
			opts, keys = &idempotency.Options{Mode: idempotency.OneTransaction}, idempotency.SameKey
		case "two transactions":
			opts, keys = &idempotency.Options{Mode: idempotency.TwoTransactions}, idempotency.SameKey
		}
		pts, err := costOf(ctx, env, opts, keys, steps, requests, workers, name == "one transaction")
		if err != nil {
			return nil, err
		}
		byName[name] = pts[0]
		if len(pts) > 1 {
			byName["replays"] = pts[1]
		}
	}
	var out []CostPoint
	for _, name := range CostConfigs {
		p := byName[name]
		p.Env, p.Config = env.String(), name
		out = append(out, p)
	}
	return out, nil
}

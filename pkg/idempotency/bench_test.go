package idempotency_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
	"github.com/dsgym/dsgym/pkg/idempotency/storetest"
)

// The budgets of the issue: on 2 cores over loopback, at least 5,000
// idempotent requests/s on SQLite, and the dedupe table costing at most 2x
// the time of the same handler without it; PostgreSQL's figures beside
// them (with floors well below what a healthy server does, so that a
// regression shows). Concurrent retries: exactly one effect per key.

// benchWorkers is how many clients send at once.
const benchWorkers = 16

// load sends n events through c with benchWorkers concurrent senders and
// fresh keys, and returns the elapsed time.
func load(tb testing.TB, c *idempotency.Client, prefix string, n int) time.Duration {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	start := time.Now()
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += benchWorkers {
				id := fmt.Sprintf("%s-%d", prefix, i)
				res, err := c.PostEvent(context.Background(), "key-"+id, idempotency.Event{ID: id, Source: "bench", Type: "reading", Data: []byte(`{"v":1}`)})
				if err == nil && res.Status != 201 {
					err = fmt.Errorf("event %s: status %d: %s", id, res.Status, res.Body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return elapsed
}

func startServer(tb testing.TB, s *idempotency.Store, opts *idempotency.Options) *idempotency.Server {
	tb.Helper()
	if opts != nil {
		opts.Logf = quiet
	}
	srv, err := idempotency.Start(idempotency.ServerConfig{Store: s, Idempotency: opts})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

func newClient(tb testing.TB, url string, keys idempotency.KeyPolicy) *idempotency.Client {
	tb.Helper()
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: url + "/events", Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.CloseIdle)
	return c
}

func modeName(m idempotency.Mode) string { return strings.ReplaceAll(m.String(), " ", "-") }

func BenchmarkIdempotentRequests(b *testing.B) {
	floors := map[idempotency.Engine]map[idempotency.Mode]float64{
		idempotency.SQLite:   {idempotency.OneTransaction: 5000, idempotency.TwoTransactions: 2500},
		idempotency.Postgres: {idempotency.OneTransaction: 500, idempotency.TwoTransactions: 300},
	}
	for _, e := range storetest.Engines {
		for _, mode := range modes {
			b.Run(string(e)+"/"+modeName(mode), func(b *testing.B) {
				s := storetest.Open(b, e)
				c := newClient(b, startServer(b, s, &idempotency.Options{Mode: mode}).URL, idempotency.SameKey)
				load(b, c, "warm", 300)
				const batch = 4000
				c0, t0 := s.GroupCommits()
				var total time.Duration
				b.ResetTimer()
				for i := range b.N {
					total += load(b, c, fmt.Sprint("b", i), batch)
				}
				if c1, t1 := s.GroupCommits(); c1 > c0 {
					b.Logf("%.1f requests per SQLite group commit", float64(t1-t0)/float64(c1-c0))
				}
				budget.AtLeast(b, "req/s", float64(b.N*batch)/total.Seconds(), floors[e][mode])
			})
		}
	}
}

func BenchmarkDedupeOverhead(b *testing.B) {
	for _, e := range storetest.Engines {
		b.Run(string(e), func(b *testing.B) {
			plain := newClient(b, startServer(b, storetest.Open(b, e), nil).URL, idempotency.NoKey)
			withKeys := newClient(b, startServer(b, storetest.Open(b, e), &idempotency.Options{Mode: idempotency.OneTransaction}).URL, idempotency.SameKey)
			load(b, plain, "warm", 300)
			load(b, withKeys, "warm", 300)
			// Seven interleaved rounds (plain, keys, keys, plain), each
			// giving a ratio; the budget is on their median, so that one
			// noisy moment on a busy machine does not decide it.
			const batch, rounds = 600, 7
			var tPlain, tKeys time.Duration
			var ratios []float64
			b.ResetTimer()
			for i := range b.N {
				for r := range rounds {
					tag := fmt.Sprint(i, "-", r)
					p := load(b, plain, "p"+tag+"a", batch/2)
					k := load(b, withKeys, "k"+tag+"a", batch/2)
					k += load(b, withKeys, "k"+tag+"b", batch/2)
					p += load(b, plain, "p"+tag+"b", batch/2)
					tPlain, tKeys = tPlain+p, tKeys+k
					ratios = append(ratios, k.Seconds()/p.Seconds())
				}
			}
			slices.Sort(ratios)
			n := float64(b.N * batch * rounds)
			b.Logf("%s: without the dedupe table %.0f req/s, with it (one transaction) %.0f req/s; time ratio median of %d rounds, range %.2f to %.2f",
				e, n/tPlain.Seconds(), n/tKeys.Seconds(), len(ratios), ratios[0], ratios[len(ratios)-1])
			budget.AtMost(b, "x-plain-time", ratios[len(ratios)/2], 2)
		})
	}
}

func BenchmarkConcurrentRetries(b *testing.B) {
	for _, e := range storetest.Engines {
		for _, mode := range modes {
			b.Run(string(e)+"/"+modeName(mode), func(b *testing.B) {
				var dups, wrong float64
				var elapsed time.Duration
				for range b.N {
					s := storetest.Open(b, e)
					srv := startServer(b, s, &idempotency.Options{Mode: mode})
					rep, err := experiment.ConcurrentRetries(context.Background(), srv.URL, 1000, 10, 100)
					if err != nil {
						b.Fatal(err)
					}
					c, err := s.CountEvents(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					dups += float64(c.Duplicates())
					wrong += float64(abs(c.Effects-1000)) + float64(rep.Disagreements)
					elapsed += rep.Elapsed
				}
				b.Logf("10,000 concurrent retries over 1,000 keys in %v per run", elapsed/time.Duration(b.N))
				budget.AtMost(b, "duplicate-effects", dups, 0)
				budget.AtMost(b, "effects-off-1000", wrong, 0)
			})
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

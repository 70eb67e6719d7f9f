package idempotency_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/storetest"
)

// load sends n events through c with workers concurrent senders and fresh
// keys, and returns the elapsed time.
func load(tb testing.TB, c *idempotency.Client, prefix string, n, workers int) time.Duration {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
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

var benchMode = idempotency.OneTransaction

func startServer(tb testing.TB, s *idempotency.Store, idempotent bool) *idempotency.Server {
	tb.Helper()
	cfg := idempotency.ServerConfig{Store: s}
	if idempotent {
		cfg.Idempotency = &idempotency.Options{Mode: benchMode}
	}
	srv, err := idempotency.Start(cfg)
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

const benchWorkers = 16

func BenchmarkIdempotentRequests(b *testing.B) {
	for _, e := range storetest.Engines {
		b.Run(string(e), func(b *testing.B) {
			s := storetest.Open(b, e)
			srv := startServer(b, s, true)
			c := newClient(b, srv.URL, idempotency.SameKey)
			load(b, c, "warm", 200, benchWorkers)
			const batch = 4000
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				total += load(b, c, fmt.Sprint("b", i), batch, benchWorkers)
			}
			perSec := float64(b.N*batch) / total.Seconds()
			if c, m := s.GroupCommits(); c > 0 {
				b.Logf("%d transactions in %d group commits (%.1f per commit)", m, c, float64(m)/float64(c))
			}
			if e == idempotency.SQLite {
				budget.AtLeast(b, "req/s", perSec, 5000)
			} else {
				budget.AtLeast(b, "req/s", perSec, 500)
			}
		})
	}
}

func BenchmarkDedupeOverhead(b *testing.B) {
	for _, e := range storetest.Engines {
		b.Run(string(e), func(b *testing.B) {
			plainStore, dedupeStore := storetest.Open(b, e), storetest.Open(b, e)
			plain := newClient(b, startServer(b, plainStore, false).URL, idempotency.NoKey)
			withKeys := newClient(b, startServer(b, dedupeStore, true).URL, idempotency.SameKey)
			load(b, plain, "warm", 200, benchWorkers)
			load(b, withKeys, "warm", 200, benchWorkers)
			const batch = 3000
			var tPlain, tKeys time.Duration
			b.ResetTimer()
			for i := range b.N {
				tPlain += load(b, plain, fmt.Sprint("p", i), batch, benchWorkers)
				tKeys += load(b, withKeys, fmt.Sprint("k", i), batch, benchWorkers)
			}
			b.Logf("%s: plain %.0f req/s, idempotent %.0f req/s", e, float64(b.N*batch)/tPlain.Seconds(), float64(b.N*batch)/tKeys.Seconds())
			budget.AtMost(b, "x", tKeys.Seconds()/tPlain.Seconds(), 2)
		})
	}
}

package outbox

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/engines"
)

// benchEngines returns kfake and the PostgreSQL of DSGYM_POSTGRES_URL,
// skipping the benchmark without one: the budgets are PostgreSQL's.
func benchEngines(b *testing.B) (*engines.KafkaEngine, *engines.DatabaseEngine) {
	b.Helper()
	if os.Getenv(engines.PostgresURLEnv) == "" {
		b.Skipf("%s is not set: this budget is PostgreSQL's (make postgres)", engines.PostgresURLEnv)
	}
	db, err := engines.Postgres(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(k.Close)
	return k, db
}

// BenchmarkEndToEnd is the pipeline's throughput budget: at least 5,000
// orders/s from the input topic to the downstream effect, log-based relay,
// PostgreSQL, on this 2-core machine (kfake shares the cores). Rounds
// alternate with the polling relay, whose figure is printed beside.
func BenchmarkEndToEnd(b *testing.B) {
	k, db := benchEngines(b)
	var logRates, pollRates []float64
	for b.Loop() {
		for range 5 {
			for _, relay := range []RelayKind{LogBased, Polling} {
				res, err := Flow(context.Background(), k, db, FlowConfig{Relay: relay, Orders: 8000, PollInterval: 10 * time.Millisecond, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				if !res.Report.OK() {
					b.Fatalf("%s: %v", relay, res.Report)
				}
				if relay == LogBased {
					logRates = append(logRates, res.Throughput)
				} else {
					pollRates = append(pollRates, res.Throughput)
				}
			}
		}
	}
	m, s := budget.Spread(logRates)
	pm, ps := budget.Spread(pollRates)
	b.Logf("8,000 orders, batches of 200: log-based %s orders/s; polling every 10 ms %.0f orders/s (%s)", s, pm, ps)
	budget.AtLeast(b, "orders/s-log-based", m, 5000)
}

// BenchmarkCommitToPublished is the relay latency budget: p99 from the
// database commit to the broker's acknowledgement at most 10 ms for the
// log-based relay with kfake, at 3,000 orders/s. The polling relay's p99
// at a 50 ms interval is printed beside (it is bounded by the interval).
func BenchmarkCommitToPublished(b *testing.B) {
	k, db := benchEngines(b)
	var logP99, pollP99 []float64
	for b.Loop() {
		for range 5 {
			for _, relay := range []RelayKind{LogBased, Polling} {
				res, err := Flow(context.Background(), k, db, FlowConfig{Relay: relay, Orders: 3000, Rate: 3000, PollInterval: 50 * time.Millisecond, Seed: 2})
				if err != nil {
					b.Fatal(err)
				}
				ms := float64(res.Quantile(0.99)) / float64(time.Millisecond)
				if relay == LogBased {
					logP99 = append(logP99, ms)
				} else {
					pollP99 = append(pollP99, ms)
				}
			}
		}
	}
	m, s := budget.Spread(logP99)
	pm, ps := budget.Spread(pollP99)
	b.Logf("3,000 orders/s: log-based p99 %s ms; polling every 50 ms p99 %.1f ms (%s)", s, pm, ps)
	budget.AtMost(b, "ms-p99-commit-to-published", m, 10)
}

// BenchmarkCrashSchedules is the crash matrix's budget: at least 100
// crash schedules on PostgreSQL (both relays, every crash point, three
// passes, four seeds) in at most 3 minutes, with no violation in any.
func BenchmarkCrashSchedules(b *testing.B) {
	k, db := benchEngines(b)
	var secs []float64
	runs := 0
	for b.Loop() {
		t0 := time.Now()
		cells, err := Matrix(context.Background(), k, db, MatrixConfig{Seeds: 4})
		if err != nil {
			// A run that could not finish (a database or broker error) is
			// not a verdict: say so and run the round again, once. A
			// violation below is never retried.
			b.Logf("a run failed, the round starts again: %v", err)
			t0 = time.Now()
			if cells, err = Matrix(context.Background(), k, db, MatrixConfig{Seeds: 4}); err != nil {
				b.Fatal(err)
			}
		}
		secs = append(secs, time.Since(t0).Seconds())
		runs = 0
		for _, c := range cells {
			runs += c.Runs
			if c.Violations > 0 {
				b.Fatalf("%s at %s: %s", c.Relay, c.At, c.Verdict())
			}
		}
	}
	if runs < 100 {
		b.Fatalf("only %d schedules", runs)
	}
	m, s := budget.Spread(secs)
	b.Logf("%d crash schedules, no violation in any: %s s", runs, s)
	budget.AtMost(b, "s-for-120-crash-schedules", m, 180)
}

package eos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/engines"
)

// spread reports the median of xs and its range, for a benchmark's log.
// BenchmarkCrashMatrix is the chapter's budget for its crash matrix: 200
// kfake schedules (5 modes x 4 crash points x 10 seeds) in at most 60 s,
// with the verdicts the chapter claims (TestCrashMatrixVerdicts checks
// them cell by cell; here a run must simply succeed).
func BenchmarkCrashMatrix(b *testing.B) {
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	var secs []float64
	for b.Loop() {
		t0 := time.Now()
		cells, err := Matrix(context.Background(), k, MatrixConfig{})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cells {
			if (c.Mode == Transactional || c.Mode == IdempotentSink) && c.Clean != c.Runs {
				b.Fatalf("%v at %v: %d of %d runs clean", c.Mode, c.Point, c.Clean, c.Runs)
			}
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	m, s := budget.Spread(secs)
	b.Logf("200 schedules: %s s", s)
	budget.AtMost(b, "s/200-schedules", m, 60)
}

// BenchmarkTransactionalThroughput is the budget for transactions on
// kfake: at least 300,000 records/s at 1,000 records per transaction
// (100-byte values, 3 partitions, 50,000 records per round). With
// DSGYM_KAFKA_BROKERS set, every round also measures the real broker,
// interleaved with kfake's, and prints its figure beside the budget.
func BenchmarkTransactionalThroughput(b *testing.B) {
	fake, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	var real *engines.KafkaEngine
	if os.Getenv(engines.KafkaBrokersEnv) != "" {
		if real, err = engines.Kafka(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	var fakeRates, realRates []float64
	for b.Loop() {
		c, err := Transactions(context.Background(), fake, 1000, 50_000, 3)
		if err != nil {
			b.Fatal(err)
		}
		fakeRates = append(fakeRates, c.RecordsPerSec)
		if real != nil {
			c, err := Transactions(context.Background(), real, 1000, 50_000, 3)
			if err != nil {
				b.Fatal(err)
			}
			realRates = append(realRates, c.RecordsPerSec)
		}
	}
	m, s := budget.Spread(fakeRates)
	b.Logf("kfake: %s records/s", s)
	if real != nil {
		rm, rs := budget.Spread(realRates)
		b.Logf("%s: %.0f records/s (%s; no budget: printed beside kfake's)", real.Name, rm, rs)
	}
	budget.AtLeast(b, "records/s", m, 300_000)
}

package ordering

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkChecker is the order checker's budget: a history of 1,000,000
// deliveries (10,000 users, 6 partitions) judged in at most 1 s.
func BenchmarkChecker(b *testing.B) {
	evs, err := Workload{Users: 10_000, Events: 1_000_000, Dist: Zipf, S: 1.1, Seed: 1}.Generate()
	if err != nil {
		b.Fatal(err)
	}
	got := make([]history.Delivery, len(evs))
	offsets := map[int32]int64{}
	for i, e := range evs {
		p, _ := Partition([]byte(e.Key), 6)
		got[i] = history.Delivery{Event: e, Partition: int32(p), Offset: offsets[int32(p)]}
		offsets[int32(p)]++
	}
	h := history.History{Sent: evs, Got: got}
	var secs []float64
	for b.Loop() {
		for range 5 {
			t0 := time.Now()
			r := ref.Check(h)
			secs = append(secs, time.Since(t0).Seconds())
			if !r.InOrder() {
				b.Fatalf("a clean history judged %v", r)
			}
		}
	}
	m, s := budget.Spread(secs)
	b.Logf("1,000,000 deliveries: %s s", s)
	budget.AtMost(b, "s/1M-deliveries", m, 1)
}

// produceRate writes n keyed records (10,000 users, 100-byte values) to
// a fresh 6-partition topic and returns records per second.
func produceRate(k *engines.KafkaEngine, n int) (float64, error) {
	ctx := context.Background()
	topic := fmt.Sprintf("ordering-bench-%d-%d", time.Now().UnixNano(), runs.Add(1))
	if err := k.CreateTopic(ctx, topic, 6, -1); err != nil {
		return 0, err
	}
	defer deleteTopic(k, topic)
	cl, err := k.Client(kgo.DefaultProduceTopic(topic))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	value := make([]byte, 100)
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = []byte(User(i))
	}
	t0 := time.Now()
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Key: keys[i%len(keys)], Value: value}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// BenchmarkKeyedProduce is the budget for keyed produce on kfake: at
// least 500,000 records/s (franz-go defaults: idempotent, acks=all,
// linger 10 ms). With DSGYM_KAFKA_BROKERS set, rounds alternate with the
// real broker, whose figure is printed beside the budget.
func BenchmarkKeyedProduce(b *testing.B) {
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
		for range 5 {
			r, err := produceRate(fake, 200_000)
			if err != nil {
				b.Fatal(err)
			}
			fakeRates = append(fakeRates, r)
			if real != nil {
				r, err := produceRate(real, 200_000)
				if err != nil {
					b.Fatal(err)
				}
				realRates = append(realRates, r)
			}
		}
	}
	m, s := budget.Spread(fakeRates)
	b.Logf("kfake keyed produce: %s records/s", s)
	if real != nil {
		rm, rs := budget.Spread(realRates)
		b.Logf("%s keyed produce: %.0f records/s (%s), beside the kfake budget", real.Name, rm, rs)
	}
	budget.AtLeast(b, "records/s-keyed-kfake", m, 500_000)
}

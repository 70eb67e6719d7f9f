package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The pipeline's record types, from package step.
type (
	// Order is one input record, keyed by customer.
	Order = step.Order
	// Event is an outbox row's payload and an output record's value.
	Event = step.Event
)

// Headers carried by every output record.
const (
	// IDHeader is the event id (Debezium's router copies the outbox id
	// to a header named "id" too): the downstream inbox's key.
	IDHeader = "id"
	// TraceHeader is the trace id written with the outbox row.
	TraceHeader = "trace_id"
)

// WriteOrders produces n orders, from customers customers drawn by r,
// to topic and returns them with their offsets. Every malformedEvery-th
// record (0: none) is not JSON, to exercise the pipeline's rejection
// path.
func WriteOrders(ctx context.Context, k *engines.KafkaEngine, topic string, n, customers, malformedEvery int, r *rand.Rand) ([]Order, error) {
	cl, err := k.Client(kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	orders := make([]Order, n)
	recs := make([]*kgo.Record, n)
	for i := range n {
		o := Order{ID: "o" + strconv.Itoa(i), Customer: CustomerID(r.IntN(customers)), Amount: 1 + r.Int64N(999)}
		v, _ := json.Marshal(o)
		if malformedEvery > 0 && (i+1)%malformedEvery == 0 {
			v = []byte(`{"order": "` + o.ID + `", "amount": `) // cut short
			o.Customer = ""
		}
		orders[i] = o
		recs[i] = &kgo.Record{Key: []byte(o.Customer), Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("outbox: write the orders to %s: %w", topic, err)
	}
	for i, rec := range recs {
		orders[i].Partition, orders[i].Offset = rec.Partition, rec.Offset
	}
	return orders, nil
}

// produceAt writes orders to topic, rate per second (0: as fast as the
// producer goes), and records each one's partition and offset in place.
func produceAt(ctx context.Context, k *engines.KafkaEngine, topic string, orders []Order, rate float64) error {
	cl, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	began := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range orders {
		if rate > 0 {
			if d := time.Until(began.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		v, _ := json.Marshal(orders[i])
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: []byte(orders[i].Customer), Value: v}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			orders[i].Partition, orders[i].Offset = r.Partition, r.Offset
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("outbox: write the orders to %s: %w", topic, first)
	}
	return nil
}

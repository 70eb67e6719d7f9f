package ordering

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handover is what one Rebalance run measured.
type Handover struct {
	Engine                string
	Partitions, Consumers int
	Events                int
	// InFlight is the batch the crashed consumer had processed and not
	// committed when it went away: the records its partitions' next
	// owners receive again.
	InFlight int
	// Report judges every delivery as the application received it: the
	// redelivered batch shows as duplicates, and nothing else may show.
	Report history.Report
	// Applied judges the deliveries an idempotent consumer applies: it
	// skips a record whose seq is not above the last one it applied for
	// that key. It must be in order, complete and without duplicates.
	Applied history.Report
	Took    time.Duration
}

// Rebalance shows what a consumer group's rebalance does to order. The
// workload is produced first, keyed by user; a group of consumers reads
// it, committing each batch's offsets after processing it (auto-commit
// off). When half of the events are processed, consumer 0 crashes
// between processing a batch and committing it: it leaves the group, its
// partitions move to the others, and they resume from the last committed
// offsets, so the batch it processed is delivered again. Within each
// partition the redelivery replays a suffix in offset order, so no key
// is ever reordered; an application that remembers each key's last
// applied seq turns the replay into a no-op.
func Rebalance(ctx context.Context, k *engines.KafkaEngine, w Workload, partitions, consumers int) (Handover, error) {
	h := Handover{Engine: k.Name, Partitions: partitions, Consumers: consumers, Events: w.Events}
	switch {
	case partitions < 1 || partitions > 256:
		return h, fmt.Errorf("partitions must be between 1 and 256, not %d", partitions)
	case consumers < 2 || consumers > 64:
		return h, fmt.Errorf("consumers must be between 2 and 64, not %d: one of them crashes and another takes its partitions over", consumers)
	case w.Events > MaxRunEvents:
		return h, fmt.Errorf("at most %d events per run, not %d", MaxRunEvents, w.Events)
	}
	events, err := w.Generate()
	if err != nil {
		return h, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("ordering-handover-%d-%d", time.Now().UnixNano(), runs.Add(1))
	if err := k.CreateTopic(ctx, topic, int32(partitions), -1); err != nil {
		return h, err
	}
	defer deleteTopic(k, topic)
	prod, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return h, err
	}
	for _, e := range events {
		prod.Produce(ctx, &kgo.Record{Key: []byte(e.Key), Value: fmt.Appendf(nil, "%s|%d", e.Key, e.Seq)}, nil)
	}
	err = prod.Flush(ctx)
	prod.Close()
	if err != nil {
		return h, fmt.Errorf("produce to %s: %w", topic, err)
	}

	var (
		mu       sync.Mutex
		got      []history.Delivery
		distinct = map[history.Event]bool{}
		crashed  bool
		done     = make(chan struct{})
		doneOnce sync.Once
		runErr   error
		wg       sync.WaitGroup
	)
	began := time.Now()
	for c := range consumers {
		cl, err := k.Client(
			kgo.ConsumerGroup(topic),
			kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(),
			kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.FetchMaxWait(20*time.Millisecond),
		)
		if err != nil {
			cancel()
			wg.Wait()
			return h, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for {
				fs := cl.PollRecords(ctx, 50)
				select {
				case <-done:
					return
				default:
				}
				if ctx.Err() != nil {
					return
				}
				recs := fs.Records()
				if len(recs) == 0 {
					continue
				}
				time.Sleep(time.Duration(len(recs)) * 200 * time.Microsecond)
				mu.Lock()
				for _, rec := range recs {
					user, seqText, _ := strings.Cut(string(rec.Value), "|")
					seq, err := strconv.Atoi(seqText)
					if err != nil {
						runErr = fmt.Errorf("record %s/%d@%d: value %q", topic, rec.Partition, rec.Offset, rec.Value)
						continue
					}
					e := history.Event{Key: user, Seq: seq}
					got = append(got, history.Delivery{Event: e, Consumer: c, Partition: rec.Partition, Offset: rec.Offset})
					distinct[e] = true
				}
				crash := c == 0 && !crashed && 2*len(distinct) >= len(events)
				if crash {
					crashed, h.InFlight = true, len(recs)
				}
				if len(distinct) >= len(events) {
					doneOnce.Do(func() { close(done) })
				}
				mu.Unlock()
				if crash {
					return // processed, not committed: the crash
				}
				// A commit refused because the group moved on is what a
				// rebalance does; the next owner reads the batch again.
				_ = cl.CommitRecords(ctx, recs...)
			}
		}()
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	h.Took = time.Since(began)
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case runErr != nil:
		return h, runErr
	case len(distinct) < len(events):
		return h, fmt.Errorf("%s: %d of %d events were processed within 2 minutes", k.Name, len(distinct), len(events))
	case !crashed:
		return h, fmt.Errorf("%s: consumer 0 processed nothing after half of the events, so it never crashed: run more events or fewer consumers", k.Name)
	}
	h.Report = ref.Check(history.History{Sent: events, Got: got})
	h.Applied = ref.Check(history.History{Sent: events, Got: Applied(got)})
	return h, nil
}

// Applied is what an idempotent consumer applies of deliveries: per key,
// only a delivery whose seq is above the last it applied. A replay after
// a rebalance (a suffix of a partition, in offset order) is skipped
// whole.
func Applied(deliveries []history.Delivery) []history.Delivery {
	last := map[string]int{}
	var out []history.Delivery
	for _, d := range deliveries {
		if prev, ok := last[d.Key]; ok && d.Seq <= prev {
			continue
		}
		last[d.Key] = d.Seq
		out = append(out, d)
	}
	return out
}

package ordering

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	"github.com/dsgym/dsgym/pkg/ordering/reseq"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Run describes one consume experiment: a workload produced to a fresh
// topic, read by a consumer group whose members take Work per record.
type Run struct {
	Partitions, Consumers int
	Workload              Workload
	// Work is each record's processing time in the consumer (a sleep, so
	// that the consumer, not the broker, is the bottleneck, as it is in
	// most real pipelines). 0 means 200µs.
	Work time.Duration
	// Salts, when above 1, salts the hot users' keys over that many
	// sub-keys (user#0 ... user#Salts-1, by seq), and a resequencer after
	// the consumers restores each hot user's order.
	Salts int
	// Dedicated, when above 0, gives the hot users partitions of their
	// own: hot user i goes to partition Partitions-Dedicated+i%Dedicated
	// and every other key is hashed over the first Partitions-Dedicated.
	// Each user's order is kept without a resequencer, and the other
	// users no longer queue behind a hot one; a hot user is still bounded
	// by its one partition.
	Dedicated int
	// SampleEvery spaces the lag samples (0: 20 ms).
	SampleEvery time.Duration
}

// Result is what one Run measured.
type Result struct {
	Run
	Engine string
	// Took is from the first record produced to the last delivered.
	Took time.Duration
	// ColdTook is from the first record produced to the last event of a
	// user that is not hot: how long the other users wait.
	ColdTook      time.Duration
	RecordsPerSec float64
	// Produced counts the records produced to each partition.
	Produced []int64
	// PerConsumer counts the records each group member processed.
	PerConsumer []int
	// Lag samples, per partition, the records produced and not yet
	// processed, at the times in LagAt.
	Lag   [][]int64
	LagAt []time.Duration
	// Report is the order checker's verdict on what was handed on (after
	// the resequencer when salted).
	Report history.Report
	// Reseq counts what the resequencer did (salted runs).
	Reseq reseq.Stats
}

// Busy is how many consumers processed any record: the group's real
// parallelism.
func (r Result) Busy() int {
	n := 0
	for _, c := range r.PerConsumer {
		if c > 0 {
			n++
		}
	}
	return n
}

// MaxRunEvents bounds a Run.
const MaxRunEvents = 200_000

// Consume runs r on k and checks the order of what was handed on.
func Consume(ctx context.Context, k *engines.KafkaEngine, r Run) (Result, error) {
	if r.Work == 0 {
		r.Work = 200 * time.Microsecond
	}
	if r.SampleEvery <= 0 {
		r.SampleEvery = 20 * time.Millisecond
	}
	res := Result{Run: r, Engine: k.Name}
	switch {
	case r.Partitions < 1 || r.Partitions > 256:
		return res, fmt.Errorf("partitions must be between 1 and 256, not %d", r.Partitions)
	case r.Consumers < 1 || r.Consumers > 64:
		return res, fmt.Errorf("consumers must be between 1 and 64, not %d", r.Consumers)
	case r.Workload.Events > MaxRunEvents:
		return res, fmt.Errorf("at most %d events per run, not %d", MaxRunEvents, r.Workload.Events)
	case r.Work < 0 || r.Work > 100*time.Millisecond:
		return res, fmt.Errorf("work per record must be between 0 and 100ms, not %v", r.Work)
	case r.Salts < 0:
		return res, fmt.Errorf("salts must be at least 1 (or 0 for none), not %d", r.Salts)
	case r.Dedicated < 0 || r.Dedicated >= r.Partitions:
		return res, fmt.Errorf("dedicated partitions must be between 0 and partitions-1 (%d), not %d: the other users need a partition too", r.Partitions-1, r.Dedicated)
	case r.Dedicated > 0 && r.Salts > 1:
		return res, fmt.Errorf("salting and dedicated partitions are two fixes for one hot user: choose one (salts %d, dedicated %d)", r.Salts, r.Dedicated)
	case r.Dedicated > 0 && r.Workload.HotUsers == 0:
		return res, fmt.Errorf("dedicated partitions need hot users in the workload (HotUsers is 0)")
	}
	events, err := r.Workload.Generate()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("ordering-%d-%d", time.Now().UnixNano(), runs.Add(1))
	if err := k.CreateTopic(ctx, topic, int32(r.Partitions), -1); err != nil {
		return res, err
	}
	defer deleteTopic(k, topic)

	var (
		mu        sync.Mutex
		got       []history.Delivery
		distinct  = map[history.Event]bool{}
		processed = make([]atomic.Int64, r.Partitions)
		warmed    = make([]atomic.Bool, r.Partitions)
		assigned  atomic.Int64
		done      = make(chan struct{})
		doneOnce  sync.Once
		doneAt    time.Time // when the last event was processed
		coldAt    time.Time // when the last event of a user not hot was processed
		cold      int       // events of users not hot, processed
		coldAll   int       // events of users not hot, sent
		runErr    error
	)
	res.PerConsumer = make([]int, r.Consumers)
	var rs reseq.Resequencer
	if r.Salts > 1 {
		rs, err = ref.NewResequencer(reseq.Config{MaxBuffer: len(events) + 1, Timeout: time.Minute})
		if err != nil {
			return res, err
		}
	}
	hotIndex := func(user string) int {
		for i := range r.Workload.HotUsers {
			if user == User(i) {
				return i
			}
		}
		return -1
	}
	hot := func(user string) bool { return hotIndex(user) >= 0 }
	for _, e := range events {
		if !hot(e.Key) {
			coldAll++
		}
	}
	began := time.Now()
	var startOnce sync.Once
	start := func() { startOnce.Do(func() { began = time.Now() }) }
	var wg sync.WaitGroup
	for c := range r.Consumers {
		cl, err := k.Client(
			kgo.ConsumerGroup(topic),
			kgo.ConsumeTopics(topic),
			kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.FetchMaxWait(20*time.Millisecond),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { assigned.Add(int64(len(a[topic]))) }),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { assigned.Add(-int64(len(a[topic]))) }),
		)
		if err != nil {
			return res, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for {
				fs := cl.PollRecords(ctx, 100)
				select {
				case <-done:
					return
				default:
				}
				if ctx.Err() != nil {
					return
				}
				var recs []*kgo.Record
				fs.EachRecord(func(rec *kgo.Record) {
					if string(rec.Key) == warmKey {
						warmed[rec.Partition].Store(true)
						return
					}
					recs = append(recs, rec)
				})
				if len(recs) == 0 {
					continue
				}
				time.Sleep(time.Duration(len(recs)) * r.Work)
				mu.Lock()
				for _, rec := range recs {
					user, seqText, _ := strings.Cut(string(rec.Value), "|")
					seq, err := strconv.Atoi(seqText)
					if err != nil {
						runErr = fmt.Errorf("record %s/%d@%d: value %q", topic, rec.Partition, rec.Offset, rec.Value)
						continue
					}
					d := history.Delivery{Event: history.Event{Key: user, Seq: seq}, Consumer: c, Partition: rec.Partition, Offset: rec.Offset}
					first := !distinct[d.Event]
					distinct[d.Event] = true
					res.PerConsumer[c]++
					processed[rec.Partition].Add(1)
					if first && !hot(user) {
						if cold++; cold == coldAll {
							coldAt = time.Now()
						}
					}
					if rs != nil && hot(user) {
						for _, e := range rs.Push(d.Event, time.Since(began)) {
							got = append(got, history.Delivery{Event: e, Consumer: -1, Offset: int64(len(got))})
						}
						continue
					}
					got = append(got, d)
				}
				if len(distinct) >= len(events) {
					doneOnce.Do(func() { doneAt = time.Now(); close(done) })
				}
				mu.Unlock()
			}
		}()
	}
	// Produce only once the group owns every partition, so that the clock
	// measures processing, not the group's first rebalance.
	// The group is settled when it has owned every partition for 120 ms:
	// a rebalance in the middle of the run would redeliver records (there
	// are no commits to resume from) and blur the figures.
	for settled := 0; settled < 3; {
		if assigned.Load() == int64(r.Partitions) {
			settled++
		} else {
			settled = 0
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return res, fmt.Errorf("%s: the group of %d did not take all %d partitions within 2 minutes", k.Name, r.Consumers, r.Partitions)
		case <-time.After(40 * time.Millisecond):
		}
	}
	// The records carry the partition Partition chose (franz-go's
	// Java-compatible partitioner), so the lag below is counted per
	// partition exactly.
	prod, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return res, err
	}
	defer prod.Close()
	// One record to every partition first, outside the clock: a real
	// broker may take a moment before a new topic's partitions all
	// accept writes, and the producer must learn their leaders.
	var warm []*kgo.Record
	for p := range r.Partitions {
		warm = append(warm, &kgo.Record{Key: []byte(warmKey), Partition: int32(p)})
	}
	if err := prod.ProduceSync(ctx, warm...).FirstErr(); err != nil {
		return res, fmt.Errorf("warm up %s: %w", topic, err)
	}
	// ... and the clock starts once every partition's consumer has read
	// its warm-up record: the first fetch of a partition can take half a
	// second on a real broker, which is start-up, not throughput.
	for p := 0; p < r.Partitions; {
		if warmed[p].Load() {
			p++
			continue
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return res, fmt.Errorf("%s: partition %d's consumer read nothing within 2 minutes", k.Name, p)
		case <-time.After(5 * time.Millisecond):
		}
	}
	produced := make([]int64, r.Partitions)
	start()
	for _, e := range events {
		key := e.Key
		if rs != nil && hot(e.Key) {
			key = fmt.Sprintf("%s#%d", e.Key, e.Seq%r.Salts)
		}
		p, err := Partition([]byte(key), r.Partitions-r.Dedicated)
		if err != nil {
			return res, err
		}
		if i := hotIndex(e.Key); r.Dedicated > 0 && i >= 0 {
			p = r.Partitions - r.Dedicated + i%r.Dedicated
		}
		produced[p]++
		prod.Produce(ctx, &kgo.Record{Key: []byte(key), Value: fmt.Appendf(nil, "%s|%d", e.Key, e.Seq), Partition: int32(p)}, nil)
	}
	if err := prod.Flush(ctx); err != nil {
		return res, fmt.Errorf("produce to %s: %w", topic, err)
	}
	tick := time.NewTicker(r.SampleEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			lag := make([]int64, r.Partitions)
			for p := range lag {
				lag[p] = produced[p] - processed[p].Load()
			}
			res.Lag = append(res.Lag, lag)
			res.LagAt = append(res.LagAt, time.Since(began))
		}
	}
	cancel()
	wg.Wait()
	// From the first record produced to the last processed (the
	// producer's Flush may return later: it waits for every ack).
	res.Took = doneAt.Sub(began)
	res.ColdTook = res.Took
	if !coldAt.IsZero() {
		res.ColdTook = coldAt.Sub(began)
	}
	if runErr != nil {
		return res, runErr
	}
	mu.Lock()
	defer mu.Unlock()
	if len(distinct) < len(events) {
		return res, fmt.Errorf("%s: %d of %d events were processed within 2 minutes", k.Name, len(distinct), len(events))
	}
	res.Lag = append(res.Lag, make([]int64, r.Partitions))
	res.LagAt = append(res.LagAt, res.Took)
	res.RecordsPerSec = float64(len(events)) / res.Took.Seconds()
	res.Produced = produced
	res.Report = ref.Check(history.History{Sent: events, Got: got})
	if rs != nil {
		res.Reseq = rs.Stats()
	}
	return res, nil
}

var runs atomic.Int64

// warmKey marks the records Consume writes before the clock starts; the
// consumers skip them.
const warmKey = "__warm__"

// deleteTopic removes an experiment's topic.
func deleteTopic(k *engines.KafkaEngine, topic string) {
	cl, err := k.Client()
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = kadm.NewClient(cl).DeleteTopics(ctx, topic)
}

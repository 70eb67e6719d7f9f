package eos

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cost is what transactions cost at one size: the throughput of a
// transactional producer and how long each transaction took, from Begin
// to a committed End.
type Cost struct {
	PerTxn        int           // records per transaction
	Records       int           // records written in all
	Elapsed       time.Duration // wall time for all of them
	RecordsPerSec float64
	P50, P99      time.Duration // per-transaction time, Begin to committed
}

// MaxCostRecords bounds one Transactions run, so that a typo cannot fill
// a broker.
const MaxCostRecords = 5_000_000

// Transactions writes records (100-byte values) to a fresh topic of
// partitions partitions in transactions of perTxn records each, with a
// transactional producer of its own, and measures it (after one warm-up
// transaction, not counted). The topic is deleted afterwards.
func Transactions(ctx context.Context, k *engines.KafkaEngine, perTxn, records, partitions int) (Cost, error) {
	c := Cost{PerTxn: perTxn}
	switch {
	case perTxn < 1:
		return c, fmt.Errorf("records per transaction must be at least 1, not %d", perTxn)
	case records < perTxn || records > MaxCostRecords:
		return c, fmt.Errorf("records must be between records per transaction (%d) and %d, not %d", perTxn, MaxCostRecords, records)
	case partitions < 1:
		return c, fmt.Errorf("partitions must be at least 1, not %d", partitions)
	}
	topic := fmt.Sprintf("eos-cost-%s-%d", process, runs.Add(1))
	if err := k.CreateTopic(ctx, topic, int32(partitions), -1); err != nil {
		return c, err
	}
	defer deleteTopics(k, topic)
	cl, err := k.Client(kgo.TransactionalID(topic), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1<<20), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return c, err
	}
	defer cl.Close()
	value := make([]byte, 100)
	// One transaction per partition before the clock starts: the producer
	// id, the partitions' leaders (a new topic's may not be elected yet)
	// and the coordinator are found outside the measurement.
	if err := cl.BeginTransaction(); err != nil {
		return c, fmt.Errorf("begin: %w", err)
	}
	warm := make([]*kgo.Record, partitions)
	for i := range warm {
		warm[i] = &kgo.Record{Key: fmt.Appendf(nil, "warm-%d", i), Value: value}
	}
	if err := cl.ProduceSync(ctx, warm...).FirstErr(); err != nil {
		return c, fmt.Errorf("warm-up produce: %w", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return c, fmt.Errorf("warm-up commit: %w", err)
	}
	var took []time.Duration
	began := time.Now()
	for c.Records < records {
		t0 := time.Now()
		if err := cl.BeginTransaction(); err != nil {
			return c, fmt.Errorf("begin: %w", err)
		}
		var failed error
		for i := range perTxn {
			cl.Produce(ctx, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%64), Value: value}, func(_ *kgo.Record, err error) {
				if err != nil && failed == nil {
					failed = err
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			return c, err
		}
		if failed != nil {
			return c, fmt.Errorf("produce: %w", failed)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return c, fmt.Errorf("commit: %w", err)
		}
		took = append(took, time.Since(t0))
		c.Records += perTxn
	}
	c.Elapsed = time.Since(began)
	c.RecordsPerSec = float64(c.Records) / c.Elapsed.Seconds()
	slices.Sort(took)
	c.P50, c.P99 = took[len(took)/2], took[min(len(took)-1, len(took)*99/100)]
	return c, nil
}

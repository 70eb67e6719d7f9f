package eos

import (
	"context"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stall is one TimedOutTxn run: a transaction left open past its timeout,
// a plain producer writing behind it, and the partition's two ends
// sampled until the broker aborted the stalled transaction.
type Stall struct {
	Engine  string
	Timeout time.Duration // the stalled producer's transaction.timeout.ms
	Records int           // records in the stalled transaction, and written behind it
	// Samples are the high watermark (what read_uncommitted can read up
	// to) and the last stable offset (what read_committed can read up
	// to) over time, from the moment the stalled transaction began.
	Samples []Ends
	// Unblocked is when the last stable offset first passed the records
	// written behind the stalled transaction: the broker had aborted it.
	// Zero if it never did within the run's deadline.
	Unblocked time.Duration
	// CommitErr is what the stalled producer got when it woke up and
	// tried to commit, after the abort.
	CommitErr error
	// Committed and Uncommitted count the records a read_committed and a
	// read_uncommitted consumer read afterwards, by writer ("stalled",
	// "behind").
	Committed, Uncommitted map[string]int
}

// Ends is the two ends of a partition at one moment.
type Ends struct {
	At        time.Duration
	HighWater int64 // end of the log: read_uncommitted reads up to here
	Stable    int64 // last stable offset: read_committed reads up to here
}

// MaxStall bounds how long TimedOutTxn waits for the broker to abort: a
// real broker looks for expired transactions only every
// transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s by
// default), after the timeout itself.
const MaxStall = 45 * time.Second

// TimedOutTxn shows what a stuck transaction costs its readers. A
// transactional producer with transaction.timeout.ms = timeout begins a
// transaction, writes records records to a fresh one-partition topic,
// and stalls. A plain producer then writes records more, which are
// committed at once but sit behind the open transaction: the last stable
// offset cannot pass its first record, so read_committed consumers see
// nothing new. The coordinator aborts the transaction once it is older
// than its timeout (kfake does so on a timer; a real broker on its next
// cleanup scan), bumping the epoch; only then do the records behind it
// become readable, and the woken producer's commit is refused. progress,
// when not nil, is told each sample.
func TimedOutTxn(ctx context.Context, k *engines.KafkaEngine, timeout time.Duration, records int, progress func(Ends)) (Stall, error) {
	s := Stall{Engine: k.Name, Timeout: timeout, Records: records}
	switch {
	case timeout < 100*time.Millisecond || timeout > 30*time.Second:
		return s, fmt.Errorf("the transaction timeout must be between 100ms and 30s for this experiment, not %v", timeout)
	case records < 1 || records > 10_000:
		return s, fmt.Errorf("records must be between 1 and 10000, not %d", records)
	}
	topic := fmt.Sprintf("eos-stall-%s-%d", process, runs.Add(1))
	if err := k.CreateTopic(ctx, topic, 1, -1); err != nil {
		return s, err
	}
	defer deleteTopics(k, topic)
	batch := func(who string) []*kgo.Record {
		rs := make([]*kgo.Record, records)
		for i := range rs {
			rs[i] = &kgo.Record{Key: []byte(who), Value: fmt.Appendf(nil, "%d", i)}
		}
		return rs
	}
	stalled, err := k.Client(kgo.TransactionalID(topic+"-txn"), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.TransactionTimeout(timeout))
	if err != nil {
		return s, err
	}
	defer stalled.Close()
	behind, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	if err != nil {
		return s, err
	}
	defer behind.Close()
	adm := kadm.NewClient(behind)

	if err := stalled.BeginTransaction(); err != nil {
		return s, fmt.Errorf("begin: %w", err)
	}
	began := time.Now()
	if err := stalled.ProduceSync(ctx, batch("stalled")...).FirstErr(); err != nil {
		return s, fmt.Errorf("stalled produce: %w", err)
	}
	if err := behind.ProduceSync(ctx, batch("behind")...).FirstErr(); err != nil {
		return s, fmt.Errorf("produce behind the transaction: %w", err)
	}
	// The stalled records and the ones behind them are in; the abort
	// marker makes the log one longer.
	written := int64(2 * records)
	deadline := time.Now().Add(timeout + MaxStall)
	for time.Now().Before(deadline) {
		e, err := ends(ctx, adm, topic)
		if err != nil {
			return s, err
		}
		e.At = time.Since(began)
		s.Samples = append(s.Samples, e)
		if progress != nil {
			progress(e)
		}
		if e.Stable > written {
			s.Unblocked = e.At
			break
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(sampleEvery(timeout)):
		}
	}
	if s.Unblocked == 0 {
		return s, fmt.Errorf("%s did not abort the transaction within %v of its %v timeout", k.Name, MaxStall, timeout)
	}
	s.CommitErr = stalled.EndTransaction(ctx, kgo.TryCommit)
	for _, c := range []struct {
		level kgo.IsolationLevel
		into  *map[string]int
	}{{kgo.ReadCommitted(), &s.Committed}, {kgo.ReadUncommitted(), &s.Uncommitted}} {
		reads, err := ReadOutput(ctx, k, topic, 1, c.level)
		if err != nil {
			return s, err
		}
		*c.into = map[string]int{}
		for _, r := range reads {
			(*c.into)[r.Key]++
		}
	}
	return s, nil
}

// sampleEvery spaces the samples: about 20 over the timeout, at least
// every 250 ms for the real broker's longer wait.
func sampleEvery(timeout time.Duration) time.Duration {
	return min(max(timeout/20, 20*time.Millisecond), 250*time.Millisecond)
}

// ends lists partition 0's high watermark and last stable offset.
func ends(ctx context.Context, adm *kadm.Client, topic string) (Ends, error) {
	var e Ends
	hi, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return e, fmt.Errorf("high watermark of %s: %w", topic, err)
	}
	st, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return e, fmt.Errorf("last stable offset of %s: %w", topic, err)
	}
	h, _ := hi.Lookup(topic, 0)
	l, _ := st.Lookup(topic, 0)
	e.HighWater, e.Stable = h.Offset, l.Offset
	return e, nil
}

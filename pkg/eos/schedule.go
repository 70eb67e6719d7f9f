package eos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Schedule is one run of the crash matrix: a mode, a crash point, a seed.
type Schedule struct {
	Mode  Mode
	Point Point
	Seed  uint64
	// Records, Keys, Partitions and Batch shape the input (defaults 1,000
	// records over 20 keys on 3 partitions, 100 per batch).
	Records, Keys, Partitions, Batch int
	// Rules replaces the reference step, sink or checker (exercises).
	Rules Rules
	// First, when not nil, runs the first instance (the one that crashes)
	// instead of running it in this process: the kill -9 runs start it as
	// a child process that kills itself at the crash point.
	First func(ctx context.Context, p *Pipeline, crash Crash) (Instance, error)
}

func (s *Schedule) defaults() {
	if s.Records <= 0 {
		s.Records = 1000
	}
	if s.Keys <= 0 {
		s.Keys = 20
	}
	if s.Partitions <= 0 {
		s.Partitions = 3
	}
	if s.Batch <= 0 {
		s.Batch = 100
	}
}

// Verdict is what one schedule produced, as read by a read_committed
// consumer (Committed) and a read_uncommitted one (Uncommitted); for the
// idempotent sink both are the database's rows.
type Verdict struct {
	Schedule
	Crash       Crash // where the first instance was told to die
	Crashed     bool  // it did (false: the point was never reached)
	Committed   Report
	Uncommitted Report
	// The histories the reports were made from (the sink: both the same).
	CommittedHistory, UncommittedHistory History
	Stats                                Stats
	Elapsed                              time.Duration
}

// runs numbers the topics of successive schedules; process makes them
// unique across processes sharing a real broker (names do not change any
// verdict).
var (
	runs    atomic.Int64
	process = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
)

// RunSchedule runs s on k: it writes the input, runs a first instance that
// dies at s.Point in a seeded batch, then a second that finishes the job,
// and checks the output. Every schedule uses topics of its own.
func RunSchedule(ctx context.Context, k *engines.KafkaEngine, s Schedule) (Verdict, error) {
	s.defaults()
	began := time.Now()
	v := Verdict{Schedule: s}
	r := rand.New(rand.NewPCG(s.Seed, uint64(s.Mode)<<8|uint64(s.Point)))
	name := fmt.Sprintf("eos-%s-%d-m%d-p%d-s%d", process, runs.Add(1), s.Mode, s.Point, s.Seed)
	p := &Pipeline{Kafka: k, Mode: s.Mode, Input: name + "-in", Output: name + "-out", Group: name, Batch: s.Batch, Stats: &v.Stats, Rules: s.Rules}
	for _, t := range []string{p.Input, p.Output} {
		if err := k.CreateTopic(ctx, t, int32(s.Partitions), -1); err != nil {
			return v, err
		}
	}
	defer deleteTopics(k, p.Input, p.Output)
	inputs, err := WriteInput(ctx, k, p.Input, s.Records, s.Keys, r)
	if err != nil {
		return v, err
	}
	if s.Mode == IdempotentSink {
		db, err := OpenSink(name)
		if err != nil {
			return v, err
		}
		defer db.Close()
		p.DB = db
	}
	// The crash falls in the first half of the batches, so it is reached.
	v.Crash = Crash{Point: s.Point, Batch: r.IntN(max(1, s.Records/s.Batch/2))}
	aborted := map[string]bool{}
	for id, crash := range []Crash{v.Crash, {}} {
		run := p.Run
		if id == 0 && s.First != nil {
			run = func(ctx context.Context, _ int, crash Crash) (Instance, error) { return s.First(ctx, p, crash) }
		}
		inst, err := run(ctx, id+1, crash)
		if err != nil {
			return v, fmt.Errorf("%v, crash %v in batch %d: instance %d: %w", s.Mode, s.Point, v.Crash.Batch, id+1, err)
		}
		for _, w := range inst.Aborted {
			aborted[w] = true
		}
		if id == 0 {
			v.Crashed = inst.Crashed
			if !inst.Crashed {
				break
			}
		}
	}
	if s.Mode == IdempotentSink {
		reads, err := SinkReads(ctx, p.DB)
		if err != nil {
			return v, err
		}
		v.CommittedHistory = History{Inputs: inputs, Aborted: aborted, Reads: reads}
		v.UncommittedHistory = v.CommittedHistory
		v.Committed = s.Rules.check()(v.CommittedHistory)
		v.Uncommitted = v.Committed
	} else {
		for _, c := range []struct {
			level kgo.IsolationLevel
			into  *Report
			h     *History
		}{{kgo.ReadCommitted(), &v.Committed, &v.CommittedHistory}, {kgo.ReadUncommitted(), &v.Uncommitted, &v.UncommittedHistory}} {
			reads, err := ReadOutput(ctx, k, p.Output, s.Partitions, c.level)
			if err != nil {
				return v, err
			}
			*c.h = History{Inputs: inputs, Aborted: aborted, Reads: reads}
			*c.into = s.Rules.check()(*c.h)
		}
	}
	v.Elapsed = time.Since(began)
	return v, nil
}

// WriteInput produces n records to topic, keys drawn uniformly from keys
// distinct keys by r, each key's values numbered 0, 1, 2, ... in order.
func WriteInput(ctx context.Context, k *engines.KafkaEngine, topic string, n, keys int, r *rand.Rand) ([]Input, error) {
	cl, err := k.Client(kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	next := make([]int, keys)
	inputs := make([]Input, n)
	rs := make([]*kgo.Record, n)
	for i := range rs {
		ki := r.IntN(keys)
		key := fmt.Sprintf("k%02d", ki)
		inputs[i] = Input{Key: key, Seq: next[ki]}
		rs[i] = &kgo.Record{Key: []byte(key), Value: fmt.Appendf(nil, "%d", next[ki])}
		next[ki]++
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("write the input to %s: %w", topic, err)
	}
	return inputs, nil
}

// endKey marks the end of a partition for ReadOutput.
const endKey = "__end__"

// ReadOutput reads every record of topic's partitions at isolation level,
// from the start, in the order a single consumer sees them. It first
// appends an end marker to each partition (after every writer stopped), so
// it knows where to stop without waiting for silence.
func ReadOutput(ctx context.Context, k *engines.KafkaEngine, topic string, partitions int, level kgo.IsolationLevel) ([]Read, error) {
	w, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	var marks []*kgo.Record
	for part := range partitions {
		marks = append(marks, &kgo.Record{Key: []byte(endKey), Partition: int32(part)})
	}
	err = w.ProduceSync(ctx, marks...).FirstErr()
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("mark the end of %s: %w", topic, err)
	}
	cl, err := k.Client(
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var reads []Read
	ended := map[int32]bool{}
	for len(ended) < partitions {
		rs, err := poll(ctx, cl.PollFetches(ctx))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", topic, err)
		}
		for _, r := range rs {
			if string(r.Key) == endKey {
				ended[r.Partition] = true
				continue
			}
			seq, err := parseSeq(r.Value)
			if err != nil {
				return nil, fmt.Errorf("output %s/%d@%d: %w", topic, r.Partition, r.Offset, err)
			}
			rd := Read{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Seq: seq}
			for _, h := range r.Headers {
				if h.Key == WriterHeader {
					rd.Writer = string(h.Value)
				}
			}
			reads = append(reads, rd)
		}
	}
	return reads, nil
}

// deleteTopics removes a schedule's topics (a real broker would keep them).
func deleteTopics(k *engines.KafkaEngine, topics ...string) {
	cl, err := k.Client()
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = kadm.NewClient(cl).DeleteTopics(ctx, topics...)
}

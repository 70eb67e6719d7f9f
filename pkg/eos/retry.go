package eos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/netfault"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AckLoss is how a produce acknowledgement goes missing after the broker
// has appended the batch: the case a producer cannot tell from "not
// written", so it sends the batch again.
type AckLoss int

const (
	// OnTheWire holds the broker's response in a TCP proxy (netfault)
	// past the client's request deadline: the client closes the
	// connection and resends on a new one. It works on kfake and on a
	// real broker alike.
	OnTheWire AckLoss = iota
	// TimedOut has the broker append the batch and answer
	// REQUEST_TIMED_OUT, as a leader does when acks=all replication
	// outlasts the request's timeout (kfake's fault hook; kfake only).
	TimedOut
)

func (l AckLoss) String() string {
	if l == TimedOut {
		return "REQUEST_TIMED_OUT after the append (kfake fault)"
	}
	return "response dropped on the wire (TCP proxy)"
}

// Retried is one LostAcks run: a plain (non-transactional) producer wrote
// Batches batches of PerBatch records, every acknowledgement was lost
// once, and the log was counted afterwards.
type Retried struct {
	Engine     string
	Idempotent bool // enable.idempotence (franz-go's default) or disabled
	Loss       AckLoss
	Batches    int
	PerBatch   int
	Lost       int   // acknowledgements lost, one per batch
	Written    int64 // records in the log afterwards
	Duplicates int64 // Written - Batches*PerBatch: copies the retries added
	Took       time.Duration
}

// Sent is the number of distinct records the producer sent.
func (r Retried) Sent() int { return r.Batches * r.PerBatch }

// MaxLostAckBatches bounds one LostAcks run: each lost acknowledgement
// over the wire costs a request deadline (about 0.3 s).
const MaxLostAckBatches = 100

// Request deadlines of the LostAcks producer: the broker is asked to
// answer within ackTimeout, and the client waits ackOverhead more before
// it gives up on the connection. The proxy holds a response for ackHold,
// well past both.
const (
	ackTimeout  = 100 * time.Millisecond
	ackOverhead = 200 * time.Millisecond
	ackHold     = 5 * time.Second
)

// LostAcks shows what the idempotent producer is for. It writes batches
// batches of perBatch records, one synchronous batch at a time, to a fresh
// one-partition topic, and loses the acknowledgement of each batch once,
// the way loss says. The producer resends the batch. With idempotence on,
// the resend carries the same producer id and sequence number and the
// broker answers it as a duplicate without appending it (KIP-98); with it
// off, the log gets the batch twice. The topic is deleted afterwards.
func LostAcks(ctx context.Context, k *engines.KafkaEngine, idempotent bool, loss AckLoss, batches, perBatch int) (Retried, error) {
	r := Retried{Engine: k.Name, Idempotent: idempotent, Loss: loss, Batches: batches, PerBatch: perBatch}
	switch {
	case batches < 1 || batches > MaxLostAckBatches:
		return r, fmt.Errorf("batches must be between 1 and %d, not %d", MaxLostAckBatches, batches)
	case perBatch < 1 || perBatch > 10_000:
		return r, fmt.Errorf("records per batch must be between 1 and 10000, not %d", perBatch)
	case loss == TimedOut && k.Fake == nil:
		return r, fmt.Errorf("%s: %v needs kfake's fault hook; on a real broker use OnTheWire", k.Name, loss)
	}
	topic := fmt.Sprintf("eos-acks-%s-%d", process, runs.Add(1))
	if err := k.CreateTopic(ctx, topic, 1, -1); err != nil {
		return r, err
	}
	defer deleteTopics(k, topic)

	// lose arms the next batch's loss; it is set before a batch and
	// consumed by the first produce response (or deadline) after it.
	var (
		mu     sync.Mutex
		armed  bool
		faults *netfault.Faults
	)
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.ProduceRequestTimeout(ackTimeout), kgo.RequestTimeoutOverhead(ackOverhead),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.MetadataMinAge(100 * time.Millisecond),
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	}
	if loss == OnTheWire {
		faults = netfault.New()
		defer faults.Close()
		// The held response is the first produce read to fail; lift the
		// hold then, so that the resend finds a clean connection.
		opts = append(opts, faults.KafkaOpt(), kgo.WithHooks(readHook(func(key int16, err error) {
			if key != int16(kmsg.Produce) || err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if armed {
				armed = false
				r.Lost++
				for _, p := range faults.Proxies() {
					_ = p.Restore()
				}
			}
		})))
	}
	cl, err := k.Client(opts...)
	if err != nil {
		return r, err
	}
	defer cl.Close()
	value := make([]byte, 100)
	batch := func(i int) []*kgo.Record {
		rs := make([]*kgo.Record, perBatch)
		for j := range rs {
			rs[j] = &kgo.Record{Key: fmt.Appendf(nil, "b%d-%d", i, j), Value: value}
		}
		return rs
	}
	// A warm-up record finds the producer id, the leader and the produce
	// connection, and is subtracted from the count.
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("warm"), Value: value}).FirstErr(); err != nil {
		return r, fmt.Errorf("warm-up produce: %w", err)
	}
	var handles []*kfake.FaultHandle
	began := time.Now()
	for i := range batches {
		switch loss {
		case OnTheWire:
			mu.Lock()
			armed = true
			for _, p := range faults.Proxies() {
				if err := p.Delay(netfault.Downstream, ackHold, 0); err != nil {
					mu.Unlock()
					return r, err
				}
			}
			mu.Unlock()
		case TimedOut:
			h := k.Fake.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: kerr.RequestTimedOut})
			handles = append(handles, h)
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.ProduceSync(pctx, batch(i)...).FirstErr()
		cancel()
		if err != nil {
			return r, fmt.Errorf("batch %d: %w", i, err)
		}
	}
	r.Took = time.Since(began)
	for _, h := range handles {
		r.Lost += h.Hits()
	}
	lo, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return r, fmt.Errorf("count the log: %w", err)
	}
	o, ok := lo.Lookup(topic, 0)
	if !ok || o.Err != nil {
		return r, errors.Join(errors.New("count the log: no end offset for partition 0"), o.Err)
	}
	r.Written = o.Offset - 1 // the warm-up record
	r.Duplicates = r.Written - int64(r.Sent())
	return r, nil
}

// readHook calls fn after every read from a broker, with the request key
// the read answered and the read's error.
type readHook func(key int16, err error)

// OnBrokerRead implements kgo.HookBrokerRead.
func (h readHook) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	h(key, err)
}

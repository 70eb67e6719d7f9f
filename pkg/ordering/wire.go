package ordering

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/netfault"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request deadlines of the RetriesOnTheWire producer: the broker is asked
// to answer within wireTimeout and the client waits wireOverhead more
// before it gives up on the connection; the proxy holds responses for
// wireHold, well past both.
const (
	wireTimeout  = 100 * time.Millisecond
	wireOverhead = 200 * time.Millisecond
	wireHold     = 5 * time.Second
)

// RetriesOnTheWire is Retries with the fault a real network makes, so it
// runs on a real broker as well as on kfake: every connection goes
// through a TCP proxy (netfault), and after the second acknowledged
// produce request the proxy holds the broker's responses back. The broker
// has appended the batches in flight, but the producer hears nothing,
// gives up on the connection at its request deadline and sends every
// batch it has in flight again, in order, on a new one. Without
// idempotence the log holds those batches twice: a reader sees the
// user's seqs step back and replay (duplicates), but no first delivery
// out of order, because the whole pipeline is resent. With idempotence
// the broker recognises each resend by producer id and sequence number
// and appends nothing (KIP-98). What a proxy cannot do is fail one
// request and let the ones behind it succeed; that is Retries' fault,
// and it needs kfake's control hook.
func RetriesOnTheWire(ctx context.Context, k *engines.KafkaEngine, idempotent bool, inFlight, records int) (Retried, error) {
	r := Retried{Engine: k.Name, Idempotent: idempotent, InFlight: inFlight, Records: records}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	topic, err := oneUserTopic(ctx, k, "ordering-wire", inFlight, records)
	if err != nil {
		return r, err
	}
	defer deleteTopic(k, topic)
	faults := netfault.New()
	defer faults.Close()
	var (
		mu              sync.Mutex
		acked, held     int
		holding, failed bool
	)
	hook := produceReadHook(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil && !holding && held == 0:
			if acked++; acked == 2 {
				holding = true
				for _, p := range faults.Proxies() {
					if err := p.Delay(netfault.Downstream, wireHold, 0); err != nil {
						failed = true
					}
				}
			}
		case err != nil && holding:
			// The first produce read to fail is the deadline: lift the
			// hold so that the resend finds a clean connection.
			holding, held = false, held+1
			for _, p := range faults.Proxies() {
				_ = p.Restore()
			}
		}
	})
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.ProduceRequestTimeout(wireTimeout), kgo.RequestTimeoutOverhead(wireOverhead),
		faults.KafkaOpt(), kgo.WithHooks(hook),
	}
	sent, took, err := sendOneUser(ctx, k, opts, idempotent, inFlight, records)
	r.Took = took
	if idempotent {
		r.InFlight = 5 // franz-go's own, fixed when idempotent
	}
	if err != nil {
		return r, err
	}
	mu.Lock()
	switch {
	case failed:
		mu.Unlock()
		return r, fmt.Errorf("the proxy refused to hold the responses")
	case held == 0:
		mu.Unlock()
		return r, fmt.Errorf("no response was held: the producer finished before its second acknowledgement (%d acknowledged)", acked)
	}
	mu.Unlock()
	got, err := readBack(ctx, k, topic)
	if err != nil {
		return r, err
	}
	r.Report = ref.Check(history.History{Sent: sent, Got: got})
	return r, nil
}

// oneUserTopic checks a retry experiment's input and creates its
// one-partition topic, named after prefix.
func oneUserTopic(ctx context.Context, k *engines.KafkaEngine, prefix string, inFlight, records int) (string, error) {
	switch {
	case inFlight < 1 || inFlight > 5:
		return "", fmt.Errorf("requests in flight must be between 1 and 5 (Kafka's limit with idempotence), not %d", inFlight)
	case records < 10 || records > 100_000:
		return "", fmt.Errorf("records must be between 10 and 100000, not %d", records)
	}
	topic := fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), runs.Add(1))
	return topic, k.CreateTopic(ctx, topic, 1, -1)
}

// sendOneUser produces one user's events 0..records-1 in small batches
// (512 bytes, no linger, a 20 ms retry backoff) with the extra options,
// idempotent or with up to inFlight requests in flight, and returns what
// it sent and how long the sending took.
func sendOneUser(ctx context.Context, k *engines.KafkaEngine, extra []kgo.Opt, idempotent bool, inFlight, records int) ([]history.Event, time.Duration, error) {
	opts := append([]kgo.Opt{
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(512),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}, extra...)
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(inFlight))
	}
	cl, err := k.Client(opts...)
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	sent := make([]history.Event, records)
	began := time.Now()
	for i := range sent {
		sent[i] = history.Event{Key: User(0), Seq: i}
		cl.Produce(ctx, &kgo.Record{Key: []byte(User(0)), Value: fmt.Appendf(nil, "%s|%d", User(0), i)}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		return sent, time.Since(began), fmt.Errorf("produce: %w", err)
	}
	return sent, time.Since(began), nil
}

// readBack reads a one-user topic from the start until it stays quiet
// for half a second, and returns what it holds, duplicates included.
func readBack(ctx context.Context, k *engines.KafkaEngine, topic string) ([]history.Delivery, error) {
	reader, err := k.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(20*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer reader.Close()
	var got []history.Delivery
	quiet := time.Now()
	for time.Since(quiet) < 500*time.Millisecond {
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := reader.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			return got, fmt.Errorf("read back %s: %w", topic, ctx.Err())
		}
		fs.EachRecord(func(rec *kgo.Record) {
			quiet = time.Now()
			user, seqText, _ := strings.Cut(string(rec.Value), "|")
			seq, _ := strconv.Atoi(seqText)
			got = append(got, history.Delivery{Event: history.Event{Key: user, Seq: seq}, Partition: rec.Partition, Offset: rec.Offset})
		})
	}
	return got, nil
}

// produceReadHook calls fn after every read of a produce response, with
// the read's error.
type produceReadHook func(err error)

// OnBrokerRead implements kgo.HookBrokerRead.
func (h produceReadHook) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == int16(kmsg.Produce) {
		h(err)
	}
}

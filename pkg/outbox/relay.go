package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A Relay copies committed outbox rows to the output topic. Step moves
// one batch, waiting at most wait for one, and returns how many events it
// published (0: it found nothing and holds nothing unconfirmed).
type Relay interface {
	Step(ctx context.Context, wait time.Duration) (int, error)
	// Stats is what the relay did in this life.
	Stats() RelayStats
	// Close releases the relay's connections; a relay that crashed is
	// closed too, without confirming anything more.
	Close()
}

// RelayStats is what one relay life did.
type RelayStats struct {
	// Published counts events the broker acknowledged, duplicates
	// included; Confirms counts confirmations (LSN acks or mark commits).
	Published, Confirms int
	// Latency is, per published event, the time from the database commit
	// (LogRelay: the server's commit timestamp; PollRelay: the row's
	// created_at, which is earlier) to the broker's acknowledgement.
	Latency []time.Duration
}

// RelayKind names a relay.
type RelayKind string

// The relays.
const (
	LogBased RelayKind = "log-based CDC"
	Polling  RelayKind = "polling"
)

// row is an outbox row on its way to the topic.
type row struct {
	seq                          int64
	id, aggregate, kind, payload string
	trace                        string
	committed                    time.Time
}

// record is the output record for r: keyed by aggregate id, with the
// event id, the trace id and the event type in headers.
func (r row) record() *kgo.Record {
	return &kgo.Record{Key: []byte(r.aggregate), Value: []byte(r.payload), Headers: []kgo.RecordHeader{
		{Key: IDHeader, Value: []byte(r.id)},
		{Key: TraceHeader, Value: []byte(r.trace)},
		{Key: "type", Value: []byte(r.kind)},
	}}
}

// publisher is the relays' producer: idempotent (franz-go's default),
// acks=all, records keyed by aggregate id.
type publisher struct {
	cl *kgo.Client
}

func newPublisher(k *engines.KafkaEngine, topic string, extra []kgo.Opt) (*publisher, error) {
	opts := append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.RecordRetries(20)}, extra...)
	cl, err := k.Client(opts...)
	if err != nil {
		return nil, err
	}
	return &publisher{cl: cl}, nil
}

// publish produces rows and waits until the broker acknowledged all of
// them; it appends each row's commit-to-ack latency to lat.
func (p *publisher) publish(ctx context.Context, rows []row, lat *[]time.Duration) error {
	if len(rows) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(rows))
	for i, r := range rows {
		recs[i] = r.record()
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("relay: publish: %w", err)
	}
	now := time.Now()
	for _, r := range rows {
		*lat = append(*lat, now.Sub(r.committed))
	}
	return nil
}

func (p *publisher) close() { p.cl.Close() }

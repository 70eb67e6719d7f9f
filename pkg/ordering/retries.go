package ordering

import (
	"context"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Retried is one Retries run.
type Retried struct {
	Engine     string
	Idempotent bool
	InFlight   int // produce requests in flight per broker
	Records    int
	Report     history.Report
	Took       time.Duration
}

// Retries shows why idempotence matters for order, not only for
// duplicates. One user's events 0..records-1 go to a one-partition topic
// in small batches, up to inFlight produce requests at a time. kfake
// fails the third produce request with NOT_LEADER_FOR_PARTITION without
// appending it, as a broker does during a leader change, so the producer
// retries that batch, after the requests behind it were already sent.
// Without idempotence, those land first and the retried batch after
// them: the partition's log itself is out of order. With idempotence the
// broker refuses the batches behind the gap in sequence numbers
// (OUT_OF_ORDER_SEQUENCE_NUMBER) and the client resends them in order,
// which is how Kafka keeps order for any max.in.flight.requests.per.connection
// up to 5 (the Java client's enable.idempotence documentation). kfake
// only: the fault needs its control hooks. inFlight applies without
// idempotence; with it, franz-go fixes the limit at 5.
func Retries(ctx context.Context, k *engines.KafkaEngine, idempotent bool, inFlight, records int) (Retried, error) {
	r := Retried{Engine: k.Name, Idempotent: idempotent, InFlight: inFlight, Records: records}
	switch {
	case k.Fake == nil:
		return r, fmt.Errorf("%s: Retries fails a produce request with kfake's control hook; run it on the embedded engine", k.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	topic, err := oneUserTopic(ctx, k, "ordering-retries", inFlight, records)
	if err != nil {
		return r, err
	}
	defer deleteTopic(k, topic)
	// Produce v13 (Kafka 4) names topics by id.
	id, err := topicID(ctx, k, topic)
	if err != nil {
		return r, err
	}
	seen := 0
	k.Fake.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) == 0 || (pr.Topics[0].Topic != topic && pr.Topics[0].TopicID != id) {
			return nil, nil, false
		}
		// franz-go sends a second request for a partition only once one
		// succeeded on the connection (its issue #223), so the first
		// requests go through and the third fails.
		if seen++; seen < 3 {
			return nil, nil, false
		}
		// Hold the failure back while the requests behind it are handled,
		// as a slow leader change would.
		k.Fake.SleepControl(func() { time.Sleep(100 * time.Millisecond) })
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		resp.Version = pr.Version
		for _, t := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.NotLeaderForPartition.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	sent, took, err := sendOneUser(ctx, k, []kgo.Opt{kgo.DefaultProduceTopic(topic)}, idempotent, inFlight, records)
	r.Took = took
	if idempotent {
		r.InFlight = 5 // franz-go's own, fixed when idempotent
	}
	if err != nil {
		return r, err
	}
	got, err := readBack(ctx, k, topic)
	if err != nil {
		return r, err
	}
	if len(got) < records {
		return r, fmt.Errorf("read back %d of %d records within a minute", len(got), records)
	}
	r.Report = ref.Check(history.History{Sent: sent, Got: got})
	return r, nil
}

// topicID returns topic's id.
func topicID(ctx context.Context, k *engines.KafkaEngine, topic string) ([16]byte, error) {
	cl, err := k.Client()
	if err != nil {
		return [16]byte{}, err
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err == nil {
		err = td.Error()
	}
	if err != nil {
		return [16]byte{}, fmt.Errorf("the id of %s: %w", topic, err)
	}
	return td[topic].ID, nil
}

package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Collect reads a finished run's history: the database's tables and the
// whole output topic.
func Collect(ctx context.Context, d *Database, k *engines.KafkaEngine, inputs []Order, output string, opts ...kgo.Opt) (History, error) {
	h := History{Inputs: inputs, Regions: map[string]string{}, Rejected: map[Position]string{}, Totals: map[string]Total{}}
	db, err := d.Open()
	if err != nil {
		return h, err
	}
	defer db.Close()
	q := func(query string, scan func(func(...any) error) error) error {
		rs, err := db.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("outbox: collect: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			if err := scan(rs.Scan); err != nil {
				return fmt.Errorf("outbox: collect: %w", err)
			}
		}
		return rs.Err()
	}
	err = q("SELECT id, region FROM customers", func(scan func(...any) error) error {
		var id, region string
		err := scan(&id, &region)
		h.Regions[id] = region
		return err
	})
	if err == nil {
		err = q("SELECT id, customer_id, amount, region, event_id, applied FROM orders ORDER BY id", func(scan func(...any) error) error {
			var o OrderRow
			err := scan(&o.ID, &o.Customer, &o.Amount, &o.Region, &o.EventID, &o.Applied)
			h.Orders = append(h.Orders, o)
			return err
		})
	}
	if err == nil {
		err = q(`SELECT partition, "offset", reason FROM rejected`, func(scan func(...any) error) error {
			var p Position
			var reason string
			err := scan(&p.Partition, &p.Offset, &reason)
			h.Rejected[p] = reason
			return err
		})
	}
	if err == nil {
		err = q("SELECT event_id, customer_id FROM downstream_applied ORDER BY n", func(scan func(...any) error) error {
			var a AppliedRow
			err := scan(&a.EventID, &a.Customer)
			h.Applied = append(h.Applied, a)
			return err
		})
	}
	if err == nil {
		err = q("SELECT customer_id, orders, amount FROM downstream_totals", func(scan func(...any) error) error {
			var c string
			var t Total
			err := scan(&c, &t.Orders, &t.Amount)
			h.Totals[c] = t
			return err
		})
	}
	if err != nil {
		return h, err
	}
	h.Published, err = ReadTopic(ctx, k, output, opts...)
	return h, err
}

// ReadTopic reads every record of topic written before the call (opts:
// kgo.FetchIsolationLevel(kgo.ReadCommitted()) to read only committed
// transactions). It first writes an end marker to every partition and
// reads up to the markers: a read_committed reader never sees the last
// offsets of a transactional partition (they are commit markers), so the
// end offsets cannot tell it when to stop.
func ReadTopic(ctx context.Context, k *engines.KafkaEngine, topic string, opts ...kgo.Opt) ([]Published, error) {
	cl, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("outbox: end offsets of %s: %w", topic, err)
	}
	var marks []*kgo.Record
	ends.Each(func(o kadm.ListedOffset) {
		marks = append(marks, &kgo.Record{Key: []byte(endMarker), Partition: o.Partition})
	})
	if len(marks) == 0 {
		return nil, fmt.Errorf("outbox: topic %s has no partitions", topic)
	}
	if err := cl.ProduceSync(ctx, marks...).FirstErr(); err != nil {
		return nil, fmt.Errorf("outbox: mark the end of %s: %w", topic, err)
	}
	want := map[int32]bool{}
	for _, m := range marks {
		want[m.Partition] = true
	}
	rd, err := k.Client(append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []Published
	for len(want) > 0 {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("outbox: read %s: %w", topic, err)
		}
		for _, r := range fs.Records() {
			if string(r.Key) == endMarker {
				delete(want, r.Partition)
				continue
			}
			p := Published{Partition: r.Partition, Offset: r.Offset, EventID: header(r, IDHeader)}
			if err := json.Unmarshal(r.Value, &p.Event); err != nil {
				return nil, fmt.Errorf("outbox: %s/%d@%d: %w", topic, r.Partition, r.Offset, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// endMarker is the key of ReadTopic's end-of-partition records.
const endMarker = "__dsgym_end__"

func kadmClient(cl *kgo.Client) *kadm.Client { return kadm.NewClient(cl) }

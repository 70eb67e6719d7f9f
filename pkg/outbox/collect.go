package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Collect reads a finished run's history: the database's tables and the
// whole output topic.
func Collect(ctx context.Context, d *Database, k *engines.KafkaEngine, inputs []Order, output string) (History, error) {
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
	h.Published, err = ReadTopic(ctx, k, output)
	return h, err
}

// ReadTopic reads every record of topic up to its current end offsets.
func ReadTopic(ctx context.Context, k *engines.KafkaEngine, topic string) ([]Published, error) {
	cl, err := k.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("outbox: end offsets of %s: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil, nil
	}
	rd, err := k.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: startAll(want)}))
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
			p := Published{Partition: r.Partition, Offset: r.Offset, EventID: header(r, IDHeader)}
			if err := json.Unmarshal(r.Value, &p.Event); err != nil {
				return nil, fmt.Errorf("outbox: %s/%d@%d: %w", topic, r.Partition, r.Offset, err)
			}
			out = append(out, p)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		}
	}
	return out, nil
}

func startAll(parts map[int32]int64) map[int32]kgo.Offset {
	m := map[int32]kgo.Offset{}
	for p := range parts {
		m[p] = kgo.NewOffset().AtStart()
	}
	return m
}

func kadmClient(cl *kgo.Client) *kadm.Client { return kadm.NewClient(cl) }

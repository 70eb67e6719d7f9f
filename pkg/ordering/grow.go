package ordering

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Growth is one Grow run: a topic grown from From to To partitions
// halfway through a workload, one consumer per partition.
type Growth struct {
	Engine   string
	From, To int
	Events   int
	Users    int
	// Moved counts the users whose partition changed; Broken counts the
	// users some of whose events were handed on before an earlier one.
	Moved, Broken int
	Report        history.Report
	Took          time.Duration
}

// Grow shows what adding partitions does to per-key order. The first
// half of a workload is produced to a topic of from partitions, which
// consumers (one per partition, each taking work per record) are still
// working through when the topic grows to to partitions; the second half
// is then produced with the new count, so every user whose hash mod the
// partition count changed continues on another partition. That
// partition's consumer has no backlog of the user's old events, so it
// hands the user's new events on before the old consumer reaches the old
// ones: the order breaks for moved users, and only for them. Kafka moves
// no existing data when partitions are added (docs/ops.html, "Modifying
// topics").
func Grow(ctx context.Context, k *engines.KafkaEngine, from, to, users, events int, work time.Duration) (Growth, error) {
	g := Growth{Engine: k.Name, From: from, To: to, Users: users, Events: events}
	switch {
	case from < 1 || to <= from || to > 64:
		return g, fmt.Errorf("grow from at least 1 partition to more, at most 64 (got %d to %d)", from, to)
	case events < 2 || events > MaxRunEvents:
		return g, fmt.Errorf("events must be between 2 and %d, not %d", MaxRunEvents, events)
	case work < 0 || work > 10*time.Millisecond:
		return g, fmt.Errorf("work per record must be between 0 and 10ms, not %v", work)
	}
	evs, err := Workload{Users: users, Events: events, Seed: 3}.Generate()
	if err != nil {
		return g, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("ordering-grow-%d-%d", time.Now().UnixNano(), runs.Add(1))
	if err := k.CreateTopic(ctx, topic, int32(from), -1); err != nil {
		return g, err
	}
	defer deleteTopic(k, topic)
	var (
		mu   sync.Mutex
		got  []history.Delivery
		seen = map[history.Event]bool{}
		wg   sync.WaitGroup
		bad  error
	)
	all := make(chan struct{})
	var allOnce sync.Once
	consume := func(p int32) error {
		cl, err := k.Client(
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}),
			kgo.FetchMaxWait(20*time.Millisecond),
		)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for ctx.Err() == nil {
				var recs []*kgo.Record
				cl.PollRecords(ctx, 20).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
				if len(recs) == 0 {
					continue
				}
				time.Sleep(time.Duration(len(recs)) * work)
				mu.Lock()
				for _, r := range recs {
					user, seqText, _ := strings.Cut(string(r.Value), "|")
					seq, err := strconv.Atoi(seqText)
					if err != nil {
						bad = fmt.Errorf("record %s/%d@%d: value %q", topic, r.Partition, r.Offset, r.Value)
						continue
					}
					e := history.Event{Key: user, Seq: seq}
					seen[e] = true
					got = append(got, history.Delivery{Event: e, Consumer: int(p), Partition: r.Partition, Offset: r.Offset})
				}
				if len(seen) == len(evs) {
					allOnce.Do(func() { close(all) })
				}
				mu.Unlock()
			}
		}()
		return nil
	}
	for p := range from {
		if err := consume(int32(p)); err != nil {
			return g, err
		}
	}
	produce := func(part []history.Event, n int) error {
		cl, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			return err
		}
		defer cl.Close()
		for _, e := range part {
			p, err := Partition([]byte(e.Key), n)
			if err != nil {
				return err
			}
			cl.Produce(ctx, &kgo.Record{Key: []byte(e.Key), Value: fmt.Appendf(nil, "%s|%d", e.Key, e.Seq), Partition: int32(p)}, nil)
		}
		return cl.Flush(ctx)
	}
	began := time.Now()
	half := len(evs) / 2
	if err := produce(evs[:half], from); err != nil {
		return g, fmt.Errorf("produce the first half: %w", err)
	}
	adm, err := k.Client()
	if err != nil {
		return g, err
	}
	resp, err := kadm.NewClient(adm).UpdatePartitions(ctx, to, topic)
	adm.Close()
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return g, fmt.Errorf("grow %s to %d partitions: %w", topic, to, err)
	}
	for p := from; p < to; p++ {
		if err := consume(int32(p)); err != nil {
			return g, err
		}
	}
	if err := produce(evs[half:], to); err != nil {
		return g, fmt.Errorf("produce the second half: %w", err)
	}
	select {
	case <-all:
	case <-ctx.Done():
	}
	g.Took = time.Since(began)
	cancel()
	wg.Wait()
	if bad != nil {
		return g, bad
	}
	if len(seen) < len(evs) {
		return g, fmt.Errorf("%s: %d of %d events were consumed within 2 minutes", k.Name, len(seen), len(evs))
	}
	g.Report = ref.Check(history.History{Sent: evs, Got: got})
	highest := map[string]int{}
	broken := map[string]bool{}
	for _, d := range got {
		if hi, ok := highest[d.Key]; ok && d.Seq < hi {
			broken[d.Key] = true
		}
		highest[d.Key] = max(highest[d.Key], d.Seq)
	}
	g.Broken = len(broken)
	for u := range users {
		a, _ := Partition([]byte(User(u)), from)
		b, _ := Partition([]byte(User(u)), to)
		if a != b {
			g.Moved++
		}
	}
	return g, nil
}

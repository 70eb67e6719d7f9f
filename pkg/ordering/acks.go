package ordering

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Acks is a producer's acks setting.
type Acks int

const (
	// AcksAll: the leader answers once every in-sync replica has the
	// record (acks=all, the default of franz-go and of the Java client
	// since 3.0).
	AcksAll Acks = iota
	// AcksLeader: the leader answers after its own append (acks=1).
	AcksLeader
	// AcksNone: the producer does not wait for an answer (acks=0).
	AcksNone
)

func (a Acks) String() string {
	switch a {
	case AcksLeader:
		return "acks=1"
	case AcksNone:
		return "acks=0"
	}
	return "acks=all"
}

// LeaderKiller kills a partition's leader and brings it back:
// local.Kafka does both to the brokers of `make kafka-cluster`.
type LeaderKiller interface {
	KillLeader(ctx context.Context, topic string, partition int32) (int, error)
	Restart(ctx context.Context, id int) (time.Duration, error)
}

// Durability is one LeaderKill run.
type Durability struct {
	Engine      string
	Acks        Acks
	MinISR      int
	Sent        int
	Acked       int // records the producer saw acknowledged (with acks=0: sent without an error)
	Failed      int // records the producer was told failed
	LostAcked   int // acknowledged, then missing from the log
	Killed      int // the broker killed
	Back        time.Duration
	P50, P99    time.Duration // produce latency before the kill, send to acknowledgement
	LongestStop time.Duration // longest gap between two acknowledgements: the failover
}

// LeaderKill produces a steady stream of records (one every 2 ms) to a
// fresh one-partition topic with replication factor 3 and
// min.insync.replicas = minISR, kills the partition's leader with
// kill -9 a third of the way through, goes on producing, restarts the
// broker, and reads the partition back: how many acknowledged records
// are gone, and what the setting cost in latency. It needs a real
// three-broker cluster.
func LeaderKill(ctx context.Context, k *engines.KafkaEngine, cluster LeaderKiller, acks Acks, minISR, records int) (Durability, error) {
	d := Durability{Engine: k.Name, Acks: acks, MinISR: minISR, Sent: records}
	switch {
	case !k.Real || len(k.Brokers) < 3:
		return d, fmt.Errorf("%s: a leader kill needs the real three-broker cluster (make kafka-cluster, then set %s)", k.Name, engines.KafkaBrokersEnv)
	case minISR < 1 || minISR > 3:
		return d, fmt.Errorf("min.insync.replicas must be 1, 2 or 3 with three replicas, not %d", minISR)
	case records < 30 || records > 20_000:
		return d, fmt.Errorf("records must be between 30 and 20000, not %d", records)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("ordering-acks-%d-%d", time.Now().UnixNano(), runs.Add(1))
	adm, err := k.Client()
	if err != nil {
		return d, err
	}
	defer adm.Close()
	isr := strconv.Itoa(minISR)
	resp, err := kadm.NewClient(adm).CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": &isr}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return d, fmt.Errorf("create %s: %w", topic, err)
	}
	defer deleteTopic(k, topic)
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordDeliveryTimeout(30 * time.Second), kgo.MetadataMinAge(100 * time.Millisecond)}
	switch acks {
	case AcksLeader:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case AcksNone:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	cl, err := k.Client(opts...)
	if err != nil {
		return d, err
	}
	defer cl.Close()
	// A new topic takes a few seconds to be writable everywhere on a
	// cluster: write one record outside the experiment, and wait until
	// all three replicas are in sync, so that the kill hits a steady
	// stream.
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warm-up")}).FirstErr(); err != nil {
		return d, fmt.Errorf("warm up %s: %w", topic, err)
	}
	for {
		md, err := kadm.NewClient(adm).Metadata(ctx, topic)
		if err == nil {
			if p, ok := md.Topics[topic].Partitions[0]; ok && len(p.ISR) == 3 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("%s: the replicas of %s were not all in sync within 2 minutes", k.Name, topic)
		case <-time.After(100 * time.Millisecond):
		}
	}
	var (
		mu       sync.Mutex
		acked    = map[int]bool{}
		lat      []time.Duration
		lastAck  time.Time
		produced sync.WaitGroup
	)
	third := records / 3
	steady := third // latency is measured before the kill: the setting's cost, not the failover's
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			produced.Add(1)
			sent := time.Now()
			cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
				defer produced.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					d.Failed++
					return
				}
				now := time.Now()
				if !lastAck.IsZero() {
					d.LongestStop = max(d.LongestStop, now.Sub(lastAck))
				}
				lastAck = now
				acked[i] = true
				if i < steady {
					lat = append(lat, now.Sub(sent))
				}
			})
			time.Sleep(2 * time.Millisecond)
		}
	}
	produce(0, third)
	d.Killed, err = cluster.KillLeader(ctx, topic, 0)
	if err != nil {
		return d, fmt.Errorf("kill the leader of %s: %w", topic, err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_, _ = cluster.Restart(context.Background(), d.Killed)
		}
	}()
	produce(third, records)
	produced.Wait()
	d.Back, err = cluster.Restart(ctx, d.Killed)
	if err != nil {
		return d, fmt.Errorf("restart broker %d: %w", d.Killed, err)
	}
	restarted = true
	// Read the partition back from the start, up to its end now.
	rd, err := k.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return d, err
	}
	defer rd.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err != nil {
		return d, fmt.Errorf("end offset of %s: %w", topic, err)
	}
	end := ends[topic][0].Offset
	seen := map[int]bool{}
	for next := int64(0); next < end && ctx.Err() == nil; {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if i, err := strconv.Atoi(string(r.Value)); err == nil {
				seen[i] = true
			}
			next = r.Offset + 1
		})
	}
	if ctx.Err() != nil {
		return d, fmt.Errorf("read %s back: %w", topic, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	d.Acked = len(acked)
	for i := range acked {
		if !seen[i] {
			d.LostAcked++
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		d.P50, d.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return d, nil
}

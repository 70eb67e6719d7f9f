package engines

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/engines/local"
)

// ClusterEnv names the three-broker cluster this test may kill brokers of
// (make test starts it with dsgym engines start kafka-cluster and sets it).
const ClusterEnv = "DSGYM_KAFKA_CLUSTER"

// With acks=all and min.insync.replicas=2 on three brokers, a record is
// acknowledged only once two replicas hold it, so losing the leader loses
// no acknowledged record: a follower in the ISR takes over.
func TestClusterLeaderKillLosesNoAcknowledgedRecord(t *testing.T) {
	brokers := enginetest.Need(t, ClusterEnv)
	cfg, err := local.FromEnv()
	require.NoError(t, err)
	cluster := local.NewKafka(cfg, 3)
	require.Equal(t, cluster.Brokers(), brokers, "%s must name the cluster this checkout started (DSGYM_RUN_DIR, DSGYM_KAFKA_PORT): the test kills its brokers", ClusterEnv)
	require.Len(t, cluster.Running(), 3, "all three brokers must run before the test")

	t.Setenv(KafkaBrokersEnv, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k, err := Kafka(ctx)
	require.NoError(t, err)
	topic := topicName(t)
	require.NoError(t, k.CreateTopic(ctx, topic, 1, 3))

	cl, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(60*time.Second), kgo.MetadataMinAge(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()

	var (
		mu       sync.Mutex
		acked    = map[int]bool{}
		failed   int
		lastAck  time.Time
		longest  time.Duration
		killedAt time.Time
	)
	produce := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			cl.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}, func(r *kgo.Record, err error) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					return
				}
				now := time.Now()
				if !lastAck.IsZero() && now.Sub(lastAck) > longest {
					longest = now.Sub(lastAck)
				}
				lastAck = now
				acked[i] = true
			})
			time.Sleep(2 * time.Millisecond) // a steady stream, so the gap is visible
		}
		wg.Wait()
	}
	produce(0, 500)
	leader, err := cluster.KillLeader(ctx, topic, 0)
	require.NoError(t, err)
	killedAt = time.Now()
	t.Cleanup(func() { _, _ = cluster.Restart(context.Background(), leader) })
	produce(500, 1500)
	took, err := cluster.Restart(ctx, leader)
	require.NoError(t, err, "the killed broker comes back with its log as the crash left it")

	got := consumeAll(t, k, topic, kgo.ReadUncommitted(), 3*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		seen[string(r.Value)] = true
	}
	var lost []string
	for i := range acked {
		if !seen[fmt.Sprint(i)] {
			lost = append(lost, fmt.Sprint(i))
		}
	}
	t.Logf("killed leader broker %d; %d acknowledged, %d failed, longest pause between acks %s; broker back in %s",
		leader, len(acked), failed, longest.Round(time.Millisecond), took.Round(100*time.Millisecond))
	assert.Empty(t, lost, "acknowledged records lost: %s", strings.Join(lost, ","))
	assert.Greater(t, len(acked), 1000, "producing goes on after the leader is gone")
	var ackedAfter int
	for i := range acked {
		if i >= 500 {
			ackedAfter++
		}
	}
	assert.Greater(t, ackedAfter, 0, "records produced after the kill at %s are acknowledged", killedAt.Format(time.TimeOnly))
}

package engines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines/enginetest"
)

// kafkaEngines is the table every Kafka test runs over: kfake always, the
// real broker when DSGYM_KAFKA_BROKERS points at one (make test starts it).
func kafkaEngines(t *testing.T) []struct {
	name string
	get  func(t *testing.T) *KafkaEngine
} {
	return []struct {
		name string
		get  func(t *testing.T) *KafkaEngine
	}{
		{"kfake", func(t *testing.T) *KafkaEngine {
			k, err := Kafka(context.Background(), Embedded())
			require.NoError(t, err)
			t.Cleanup(k.Close)
			return k
		}},
		{"real broker", func(t *testing.T) *KafkaEngine {
			enginetest.Need(t, KafkaBrokersEnv)
			k, err := Kafka(context.Background())
			require.NoError(t, err)
			require.True(t, k.Real)
			return k
		}},
	}
}

// topicName is unique per test and run: a real broker keeps its topics.
func topicName(t *testing.T) string {
	return fmt.Sprintf("dsgym-test-%d-%d", time.Now().UnixNano(), os.Getpid())
}

// consumeAll reads every record of topic from the start at the given
// isolation level, until n records came or wait passed without a new one.
func consumeAll(t *testing.T, k *KafkaEngine, topic string, iso kgo.IsolationLevel, wait time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := k.Client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		fs := cl.PollFetches(ctx)
		cancel()
		got := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r); got++ })
		if got == 0 {
			return out
		}
	}
}

func values(rs []*kgo.Record) []string {
	var v []string
	for _, r := range rs {
		v = append(v, string(r.Value))
	}
	return v
}

func TestKafkaProducedRecordsAreConsumedInOrderPerPartition(t *testing.T) {
	for _, e := range kafkaEngines(t) {
		t.Run(e.name, func(t *testing.T) {
			k := e.get(t)
			ctx := context.Background()
			topic := topicName(t)
			require.NoError(t, k.CreateTopic(ctx, topic, 3, -1))
			cl, err := k.Client(kgo.DefaultProduceTopic(topic))
			require.NoError(t, err)
			defer cl.Close()
			const n = 300
			for i := range n {
				r := &kgo.Record{Key: []byte(fmt.Sprintf("user-%d", i%7)), Value: []byte(fmt.Sprint(i))}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) { assert.NoError(t, err) })
			}
			require.NoError(t, cl.Flush(ctx))
			got := consumeAll(t, k, topic, kgo.ReadUncommitted(), 3*time.Second)
			require.Len(t, got, n)
			last := map[string]int{}
			for _, r := range got {
				var v int
				fmt.Sscan(string(r.Value), &v)
				if prev, ok := last[string(r.Key)]; ok {
					assert.Greater(t, v, prev, "key %s out of order", r.Key)
				}
				last[string(r.Key)] = v
			}
		})
	}
}

func TestKafkaAbortedTransactionIsHiddenFromReadCommittedOnly(t *testing.T) {
	for _, e := range kafkaEngines(t) {
		t.Run(e.name, func(t *testing.T) {
			k := e.get(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			topic := topicName(t)
			require.NoError(t, k.CreateTopic(ctx, topic, 1, -1))
			cl, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.TransactionalID(topic+"-txn"))
			require.NoError(t, err)
			defer cl.Close()
			txn := func(prefix string, n int, end kgo.TransactionEndTry) {
				require.NoError(t, cl.BeginTransaction())
				for i := range n {
					cl.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}, nil)
				}
				require.NoError(t, cl.Flush(ctx))
				require.NoError(t, cl.EndTransaction(ctx, end))
			}
			txn("committed", 10, kgo.TryCommit)
			txn("aborted", 5, kgo.TryAbort)
			txn("committed-again", 3, kgo.TryCommit)

			committed := values(consumeAll(t, k, topic, kgo.ReadCommitted(), 3*time.Second))
			uncommitted := values(consumeAll(t, k, topic, kgo.ReadUncommitted(), 3*time.Second))
			assert.Len(t, committed, 13, "read_committed sees the two committed transactions")
			assert.NotContains(t, committed, "aborted-0")
			assert.Len(t, uncommitted, 18, "read_uncommitted sees the aborted records too: they stay in the log")
			assert.Contains(t, uncommitted, "aborted-0")
		})
	}
}

func TestKafkaZombieProducerIsFenced(t *testing.T) {
	for _, e := range kafkaEngines(t) {
		t.Run(e.name, func(t *testing.T) {
			k := e.get(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			topic := topicName(t)
			require.NoError(t, k.CreateTopic(ctx, topic, 1, -1))
			txid := topic + "-txn"
			zombie, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.TransactionalID(txid))
			require.NoError(t, err)
			defer zombie.Close()
			require.NoError(t, zombie.BeginTransaction())
			require.NoError(t, zombie.ProduceSync(ctx, &kgo.Record{Value: []byte("zombie")}).FirstErr())

			// A new instance with the same transactional.id: its
			// InitProducerID bumps the epoch and aborts the zombie's
			// open transaction.
			fresh, err := k.Client(kgo.DefaultProduceTopic(topic), kgo.TransactionalID(txid))
			require.NoError(t, err)
			defer fresh.Close()
			require.NoError(t, fresh.BeginTransaction())
			require.NoError(t, fresh.ProduceSync(ctx, &kgo.Record{Value: []byte("fresh")}).FirstErr())
			require.NoError(t, fresh.EndTransaction(ctx, kgo.TryCommit))

			endCtx, endCancel := context.WithTimeout(ctx, 20*time.Second)
			defer endCancel()
			err = zombie.EndTransaction(endCtx, kgo.TryCommit)
			require.Error(t, err, "the zombie's commit must fail")
			if k.Real {
				// Kafka answers PRODUCER_FENCED (or INVALID_PRODUCER_EPOCH
				// before KIP-890). kfake has answered with a timeout
				// instead, so the kind is checked on the real broker only.
				assert.True(t, errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch), "got %v", err)
			}
			assert.Equal(t, []string{"fresh"}, values(consumeAll(t, k, topic, kgo.ReadCommitted(), 3*time.Second)))
		})
	}
}

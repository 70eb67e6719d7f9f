package netfault_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/netfault"
)

// kafkaEngines is kfake with three brokers, and the real broker when
// DSGYM_KAFKA_BROKERS points at one.
func kafkaEngines() []struct {
	name string
	get  func(t *testing.T) *engines.KafkaEngine
} {
	return []struct {
		name string
		get  func(t *testing.T) *engines.KafkaEngine
	}{
		{"kfake", func(t *testing.T) *engines.KafkaEngine {
			k, err := engines.Kafka(context.Background(), engines.Embedded(), engines.FakeBrokers(3))
			require.NoError(t, err)
			t.Cleanup(k.Close)
			return k
		}},
		{"real broker", func(t *testing.T) *engines.KafkaEngine {
			enginetest.Need(t, engines.KafkaBrokersEnv)
			k, err := engines.Kafka(context.Background())
			require.NoError(t, err)
			t.Cleanup(k.Close)
			return k
		}},
	}
}

// newTopic creates a topic with three partitions, named uniquely: a real
// broker keeps its topics between runs.
func newTopic(t *testing.T, k *engines.KafkaEngine) string {
	t.Helper()
	topic := fmt.Sprintf("dsgym-netfault-%d-%d", time.Now().UnixNano(), os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, k.CreateTopic(ctx, topic, 3, -1))
	return topic
}

// leaders returns the address of every broker that leads a partition of
// topic, asked without a proxy in the way. The produce went to these
// brokers, so each must have had its own proxy (which brokers lead is the
// engine's choice: kfake may put three partitions on two of three brokers).
func leaders(t *testing.T, k *engines.KafkaEngine, topic string) []string {
	t.Helper()
	cl, err := k.Client()
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	require.NoError(t, err)
	var out []string
	for _, p := range md.Topics[topic].Partitions {
		i := slices.IndexFunc(md.Brokers, func(b kadm.BrokerDetail) bool { return b.NodeID == p.Leader })
		require.GreaterOrEqual(t, i, 0, "partition %d has leader %d, which metadata does not list", p.Partition, p.Leader)
		b := md.Brokers[i]
		addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	require.NotEmpty(t, out, "topic %s has no partition leaders", topic)
	return out
}

// produce sends one record per partition of topic and waits for every
// acknowledgement, within timeout. It returns how long that took. The
// context bounds only records not yet sent; the client's
// kgo.RecordDeliveryTimeout bounds the ones in flight.
func produce(cl *kgo.Client, topic string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var rs []*kgo.Record
	for p := range int32(3) {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("v")})
	}
	err := cl.ProduceSync(ctx, rs...).FirstErr()
	return time.Since(start), err
}

func TestKafkaDialerSendsEveryBrokerThroughItsOwnProxy(t *testing.T) {
	for _, e := range kafkaEngines() {
		t.Run(e.name, func(t *testing.T) {
			k := e.get(t)
			topic := newTopic(t, k)
			f := netfault.New()
			defer f.Close()
			cl, err := k.Client(f.KafkaOpt(), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }))
			require.NoError(t, err)
			defer cl.Close()

			d, err := produce(cl, topic, 10*time.Second)
			require.NoError(t, err)
			t.Logf("%s: clean produce of 3 records took %v", k.Name, d)

			// Every proxy forwards to a seed or an advertised broker, and
			// there is one per advertised broker the client talked to.
			var upstreams []string
			for _, p := range f.Proxies() {
				upstreams = append(upstreams, p.Upstream())
			}
			t.Logf("proxies: %v", upstreams)
			for _, b := range leaders(t, k, topic) {
				assert.Contains(t, upstreams, b, "the leader %s of a partition written to has a proxy", b)
			}

			// Delay every response: each produce round trip grows by it.
			const delay = 300 * time.Millisecond
			for _, p := range f.Proxies() {
				require.NoError(t, p.Delay(netfault.Downstream, delay, 0))
			}
			d, err = produce(cl, topic, 10*time.Second)
			require.NoError(t, err)
			t.Logf("with %v on every response: %v", delay, d)
			assert.GreaterOrEqual(t, d, delay*9/10)

			// Cut every broker: no acknowledgement comes while it lasts.
			// The idempotent producer keeps retrying rather than fail a
			// batch that may have been written, so the records wait.
			for _, p := range f.Proxies() {
				require.NoError(t, p.Restore())
				require.NoError(t, p.Cut())
			}
			type result struct {
				d   time.Duration
				err error
			}
			done := make(chan result, 1)
			cutAt := time.Now()
			go func() {
				d, err := produce(cl, topic, 30*time.Second)
				done <- result{d, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("produce finished while every broker was cut: %v after %v", r.err, r.d)
			case <-time.After(2 * time.Second):
			}

			// Restore: the waiting records are delivered, none lost.
			for _, p := range f.Proxies() {
				require.NoError(t, p.Restore())
			}
			r := <-done
			assert.NoError(t, r.err, "produce after Restore")
			t.Logf("records produced during a 2 s cut acknowledged %v after the cut began", time.Since(cutAt))
		})
	}
}

// The known-bad set-up KafkaDialer exists to replace: a proxy in front of
// the seed only. Cutting it changes nothing once the client has learnt the
// advertised addresses, so a fault experiment built this way would report
// that Kafka shrugs off a network cut.
func TestAProxyInFrontOfTheSeedAloneIsBypassed(t *testing.T) {
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	require.NoError(t, err)
	defer k.Close()
	topic := newTopic(t, k)
	f := netfault.New()
	defer f.Close()
	seed, err := f.Proxy("seed", k.Brokers[0])
	require.NoError(t, err)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seed.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	_, err = produce(cl, topic, 10*time.Second)
	require.NoError(t, err)

	require.NoError(t, seed.Cut())
	_, err = produce(cl, topic, 5*time.Second)
	assert.NoError(t, err, "the client talks to the advertised address, not the cut seed proxy")
	assert.False(t, slices.ContainsFunc(f.Proxies(), func(p *netfault.Proxy) bool { return p.Upstream() != k.Brokers[0] }))
}

func TestKafkaDialAfterCloseFailsWithErrClosed(t *testing.T) {
	f := netfault.New()
	dial := f.KafkaDialer()
	require.NoError(t, f.Close())
	_, err := dial(context.Background(), "tcp", "127.0.0.1:9092")
	assert.ErrorIs(t, err, netfault.ErrClosed)
}

package engines

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines/enginetest"
)

// A broker killed with SIGKILL loses nothing it acknowledged with acks=all
// on one node: Kafka acknowledges once the record is in its log (the page
// cache survives a process crash), and recovery on restart keeps it.
func TestBrokerKilledWithSIGKILLComesBackWithItsLog(t *testing.T) {
	broker := enginetest.PrivateKafka(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k, err := Kafka(ctx, Brokers(strings.Split(broker.Brokers(), ",")...))
	require.NoError(t, err)
	topic := topicName(t)
	require.NoError(t, k.CreateTopic(ctx, topic, 2, 1))
	cl, err := k.Client(kgo.DefaultProduceTopic(topic))
	require.NoError(t, err)
	const n = 500
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}, func(_ *kgo.Record, err error) { require.NoError(t, err) })
	}
	require.NoError(t, cl.Flush(ctx))
	cl.Close()

	require.NoError(t, broker.Kill9(1))
	took, err := broker.Restart(ctx, 1)
	require.NoError(t, err)
	t.Logf("broker back %s after kill -9", took.Round(100*time.Millisecond))
	got := consumeAll(t, k, topic, kgo.ReadUncommitted(), 3*time.Second)
	assert.Len(t, got, n, "every acknowledged record is still in the log")
}

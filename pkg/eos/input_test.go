package eos

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/stretchr/testify/require"
)

// Bad input gets a clear error within seconds, never a hang.
func TestBadInputGetsAClearErrorWithinSeconds(t *testing.T) {
	k := embedded(t)
	ctx := context.Background()
	require.NoError(t, k.CreateTopic(ctx, "bad-input-in", 1, -1))
	require.NoError(t, k.CreateTopic(ctx, "bad-input-out", 1, -1))
	_, err := WriteInput(ctx, k, "bad-input-in", 10, 2, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	dead, err := engines.Kafka(ctx, engines.Embedded())
	require.NoError(t, err)
	dead.Close() // its address now refuses connections
	cases := []struct {
		name string
		p    Pipeline
		want string
	}{
		{"an empty transactional id (group)", Pipeline{Kafka: k, Mode: Transactional, Input: "bad-input-in", Output: "bad-input-out"}, "Group (the consumer group, and in transactions mode the transactional.id"},
		{"no output topic", Pipeline{Kafka: k, Mode: AtLeastOnce, Input: "bad-input-in", Group: "g"}, "Output (the output topic)"},
		{"a missing input topic", Pipeline{Kafka: k, Mode: AtLeastOnce, Input: "no-such-topic", Output: "bad-input-out", Group: "g"}, `the input topic "no-such-topic" does not exist`},
		{"a transaction timeout above the broker's maximum", Pipeline{Kafka: k, Mode: Transactional, Input: "bad-input-in", Output: "bad-input-out", Group: "g-timeout", TxnTimeout: 16 * time.Minute}, "transaction.max.timeout.ms"},
		{"an unreachable broker", Pipeline{Kafka: dead, Mode: AtLeastOnce, Input: "bad-input-in", Output: "bad-input-out", Group: "g"}, "did not answer within 5s"},
		{"a negative batch", Pipeline{Kafka: k, Mode: AtLeastOnce, Input: "bad-input-in", Output: "bad-input-out", Group: "g", Batch: -1}, "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			began := time.Now()
			_, err := c.p.Run(ctx, 1, Crash{})
			took := time.Since(began)
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
			require.ErrorContains(t, err, c.want)
			require.Less(t, took, 8*time.Second, "the error comes within seconds")
		})
	}
}

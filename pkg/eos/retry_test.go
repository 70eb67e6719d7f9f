package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// onBoth runs f as a subtest on kfake and on the real broker (which
// DSGYM_KAFKA_BROKERS names; without it that subtest skips, or fails when
// real engines are required).
func onBoth(t *testing.T, f func(t *testing.T, k *engines.KafkaEngine)) {
	t.Run("kfake", func(t *testing.T) { f(t, embedded(t)) })
	t.Run("real broker", func(t *testing.T) {
		enginetest.Need(t, engines.KafkaBrokersEnv)
		k, err := engines.Kafka(context.Background())
		require.NoError(t, err)
		t.Cleanup(k.Close)
		f(t, k)
	})
}

// A lost acknowledgement makes the producer resend a batch the broker
// already has: the idempotent producer's resend is dropped by sequence
// number, a plain producer's is appended again.
func TestOnlyTheIdempotentProducerDropsTheResendOfALostAck(t *testing.T) {
	cases := []struct {
		name       string
		idempotent bool
		loss       AckLoss
		fakeOnly   bool
		wantDups   int64 // per batch
	}{
		{"idempotent, response dropped on the wire", true, OnTheWire, false, 0},
		{"not idempotent, response dropped on the wire", false, OnTheWire, false, 5},
		{"idempotent, REQUEST_TIMED_OUT after the append", true, TimedOut, true, 0},
		{"not idempotent, REQUEST_TIMED_OUT after the append", false, TimedOut, true, 5},
	}
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		for _, c := range cases {
			if c.fakeOnly && k.Fake == nil {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				const batches = 3
				r, err := LostAcks(ctx, k, c.idempotent, c.loss, batches, 5)
				require.NoError(t, err)
				t.Logf("%+v", r)
				require.Equal(t, batches, r.Lost, "every batch's acknowledgement was lost once")
				require.Equal(t, c.wantDups*batches, r.Duplicates)
			})
		}
	})
}

func TestLostAcksRefusesBadInput(t *testing.T) {
	k := embedded(t)
	ctx := context.Background()
	for _, c := range []struct {
		name             string
		batches, records int
		want             string
	}{
		{"no batches", 0, 5, "batches must be between 1"},
		{"too many batches", MaxLostAckBatches + 1, 5, "batches must be between 1"},
		{"empty batches", 3, 0, "records per batch"},
		{"a broker timeout on a real broker", 3, 5, "needs kfake's fault hook"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, loss := k, OnTheWire
			if c.want == "needs kfake's fault hook" {
				k, loss = &engines.KafkaEngine{Name: "a real broker", Real: true}, TimedOut
			}
			_, err := LostAcks(ctx, k, true, loss, c.batches, c.records)
			require.ErrorContains(t, err, c.want)
		})
	}
}

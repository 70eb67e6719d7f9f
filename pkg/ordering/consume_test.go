package ordering

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

func embedded(t *testing.T) *engines.KafkaEngine {
	t.Helper()
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	require.NoError(t, err)
	t.Cleanup(k.Close)
	return k
}

// onBoth runs f on kfake and, when one is configured, the real broker.
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

// Each record takes 1 ms of work here (not the default 200 µs), so the
// consumers' work, which partitions parallelise, outweighs the produce
// and fetch round trips, which they do not: CI once measured only 1.4x
// at 200 µs on a real broker shared with another package's tests.
func TestConsumerParallelismIsBoundedByPartitions(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		var rates []float64
		for _, p := range []int{2, 8} {
			r, err := Consume(context.Background(), k, Run{Partitions: p, Consumers: 8, Work: time.Millisecond, Workload: Workload{Users: 200, Events: 4000, Seed: 1}})
			require.NoError(t, err)
			t.Logf("%d partitions, 8 consumers: %d busy, %.0f records/s, %v", p, r.Busy(), r.RecordsPerSec, r.Report)
			require.Equal(t, p, r.Busy(), "consumers that got records")
			require.True(t, r.Report.InOrder(), "%v", r.Report)
			rates = append(rates, r.RecordsPerSec)
		}
		require.Greater(t, rates[1], 2*rates[0], "8 partitions should process more than twice as fast as 2")
	})
}

func TestAHotUserPinsOneConsumerAndSaltingSpreadsIt(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		share := func(r Result) float64 {
			return float64(slices.Max(r.PerConsumer)) / float64(r.Workload.Events)
		}
		w := Workload{Users: 200, Events: 4000, HotUsers: 1, HotShare: 0.4, Seed: 1}
		plain, err := Consume(context.Background(), k, Run{Partitions: 8, Consumers: 8, Workload: w})
		require.NoError(t, err)
		salted, err := Consume(context.Background(), k, Run{Partitions: 8, Consumers: 8, Workload: w, Salts: 8})
		require.NoError(t, err)
		t.Logf("plain: busiest consumer %.0f%%, %.0f records/s, %v; salted over 8: busiest %.0f%%, %.0f records/s, %v, resequencer %+v",
			100*share(plain), plain.RecordsPerSec, plain.Report, 100*share(salted), salted.RecordsPerSec, salted.Report, salted.Reseq)
		require.GreaterOrEqual(t, share(plain), 0.4, "the hot user's consumer carries its 40%")
		require.Less(t, share(salted), 0.3)
		require.True(t, plain.Report.InOrder(), "%v", plain.Report)
		require.True(t, salted.Report.InOrder(), "after the resequencer: %v", salted.Report)
		require.Zero(t, salted.Reseq.Skipped)
	})
}

// A dedicated partition for the hot user keeps every user's order without
// a resequencer and lets the other users finish long before the hot one:
// keyed by user, the users that share the hot user's partition wait
// behind its backlog.
func TestADedicatedPartitionIsolatesTheOtherUsersFromAHotOne(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		w := Workload{Users: 200, Events: 4000, HotUsers: 1, HotShare: 0.4, Seed: 1}
		plain, err := Consume(context.Background(), k, Run{Partitions: 8, Consumers: 8, Workload: w})
		require.NoError(t, err)
		ded, err := Consume(context.Background(), k, Run{Partitions: 8, Consumers: 8, Workload: w, Dedicated: 1})
		require.NoError(t, err)
		t.Logf("keyed: others done at %v of %v; dedicated: others done at %v of %v, %v", plain.ColdTook, plain.Took, ded.ColdTook, ded.Took, ded.Report)
		require.True(t, ded.Report.InOrder(), "%v", ded.Report)
		require.Less(t, 2*ded.ColdTook, plain.ColdTook, "the other users did not finish well before they did keyed by user")
		require.Greater(t, plain.ColdTook, plain.Took*3/4, "keyed by user, some other users waited for the hot one")
		events, err := w.Generate()
		require.NoError(t, err)
		hot := 0
		for _, e := range events {
			if e.Key == User(0) {
				hot++
			}
		}
		require.EqualValues(t, hot, ded.Produced[ded.Partitions-1], "the dedicated partition holds the hot user's events and nothing else")
	})
}

func TestConsumeRefusesBadInput(t *testing.T) {
	k := embedded(t)
	w := Workload{Users: 2, Events: 10}
	for name, r := range map[string]Run{
		"no partitions":             {Consumers: 1, Workload: w},
		"negative consumers":        {Partitions: 1, Consumers: -1, Workload: w},
		"negative salts":            {Partitions: 1, Consumers: 1, Salts: -2, Workload: w},
		"too many events":           {Partitions: 1, Consumers: 1, Workload: Workload{Users: 2, Events: MaxRunEvents + 1}},
		"a bad workload":            {Partitions: 1, Consumers: 1, Workload: Workload{Events: 10}},
		"every partition dedicated": {Partitions: 2, Consumers: 1, Dedicated: 2, Workload: Workload{Users: 2, Events: 10, HotUsers: 1, HotShare: 0.5}},
		"dedicated and salted":      {Partitions: 4, Consumers: 1, Dedicated: 1, Salts: 4, Workload: Workload{Users: 2, Events: 10, HotUsers: 1, HotShare: 0.5}},
		"dedicated, no hot user":    {Partitions: 4, Consumers: 1, Dedicated: 1, Workload: w},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Consume(context.Background(), k, r)
			require.Error(t, err)
		})
	}
}

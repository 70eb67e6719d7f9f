package eos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// A rebalance that revokes partitions from an instance with a transaction
// open aborts that transaction; the batch is processed again by the new
// owner, and the read_committed output still holds every input once.
func TestRebalancesAbortTransactionsButLoseAndDuplicateNothing(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		for _, eager := range []bool{false, true} {
			var steady Churn
			for _, every := range []time.Duration{0, 50 * time.Millisecond} {
				c, err := Rebalances(context.Background(), k, ChurnConfig{Every: every, Eager: eager, Seed: 1})
				require.NoError(t, err)
				t.Logf("%s every %v: %d rebalances (%.1f/s), %d revocations, %d commits, %d aborts (%.1f%%), restarts %d, %v, coordinator %v, took %v",
					c.Balancer, every, c.Rebalances, c.PerSecond(), c.Revocations, c.Commits, c.Aborts, 100*c.AbortRate(), c.Restarts, c.Report, c.CoordinatorRequests, c.Took)
				require.Zero(t, c.Report.Lost, "lost")
				require.Zero(t, c.Report.Duplicated, "duplicated")
				require.Zero(t, c.Report.AbortedReads, "aborted reads")
				require.NotEmpty(t, c.Lag, "no lag sample")
				if every == 0 {
					steady = c
					continue
				}
				require.Greater(t, c.Rebalances, 4, "the churn did not change the membership")
				require.Greater(t, c.Aborts, steady.Aborts, "churn every %v aborted no more transactions than no churn", every)
			}
		}
	})
}

// A broker restart in the middle of a transactional run fails some
// transactions (their instance starts over with the same transactional.id)
// and loses and duplicates nothing.
func TestABrokerRestartMidRunLosesAndDuplicatesNothing(t *testing.T) {
	broker := enginetest.PrivateKafka(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k, err := engines.Kafka(ctx, engines.Brokers(strings.Split(broker.Brokers(), ",")...))
	require.NoError(t, err)
	t.Cleanup(k.Close)
	var down time.Duration
	c, err := Rebalances(ctx, k, ChurnConfig{Records: 3000, Seed: 2, Midway: func(ctx context.Context) error {
		if err := broker.Kill9(1); err != nil {
			return err
		}
		took, err := broker.Restart(ctx, 1)
		down = took
		return err
	}})
	require.NoError(t, err)
	t.Logf("broker back after %v; %d commits (%d of them aborted by the broker after End reported them committed), %d aborts, %d restarts, %d stalls; %v; took %v", down, c.Commits, c.Invisible, c.Aborts, c.Restarts, c.Stalls, c.Report, c.Took)
	require.Positive(t, down, "the broker was not restarted")
	require.Zero(t, c.Report.Lost, "lost")
	require.Zero(t, c.Report.Duplicated, "duplicated")
	require.Zero(t, c.Report.AbortedReads, "aborted reads")
}

func TestRebalancesRefusesBadInput(t *testing.T) {
	k := embedded(t)
	for name, cfg := range map[string]ChurnConfig{
		"churn faster than 50ms": {Every: 10 * time.Millisecond},
		"negative churn":         {Every: -time.Second},
		"too many records":       {Records: 1_000_000},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Rebalances(context.Background(), k, cfg)
			require.Error(t, err)
		})
	}
}

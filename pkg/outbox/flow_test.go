package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAContinuousFlowIsExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		relay RelayKind
		pg    bool
	}{
		{"polling on SQLite", Polling, false},
		{"polling on PostgreSQL", Polling, true},
		{"log-based on PostgreSQL", LogBased, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqlite()
			if tc.pg {
				db = postgres(t)
			}
			res, err := Flow(context.Background(), kafkaFor(t, false), db, FlowConfig{Relay: tc.relay, Orders: 2000, Rate: 2000, PollInterval: 20 * time.Millisecond, Seed: 1})
			require.NoError(t, err)
			t.Logf("%s: %.0f orders/s, commit->publish p50 %v p99 %v, %v, took %v", tc.name, res.Throughput, res.Quantile(0.5), res.Quantile(0.99), res.Report, res.Took)
			require.True(t, res.Report.OK(), "%v", res.Report)
		})
	}
}

// With the relay's broker unreachable for a while, the backlog grows
// (unpublished rows for the poller, retained WAL for the slot), nothing
// is lost, and it drains once the broker is back.
func TestABrokerOutageGrowsTheBacklogAndLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		relay RelayKind
		pg    bool
	}{
		{"polling on SQLite", Polling, false},
		{"log-based on PostgreSQL", LogBased, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqlite()
			if tc.pg {
				db = postgres(t)
			}
			res, err := Flow(context.Background(), kafkaFor(t, false), db, FlowConfig{Relay: tc.relay, Orders: 3000, Rate: 1500,
				PollInterval: 20 * time.Millisecond, Outage: time.Second, OutageAt: 500 * time.Millisecond, Sample: 50 * time.Millisecond, Seed: 3})
			require.NoError(t, err)
			var peakRows int
			var peakLag int64
			for _, s := range res.Outbox {
				peakRows = max(peakRows, s.Unpublished)
				peakLag = max(peakLag, s.SlotLag)
			}
			last := res.Outbox[len(res.Outbox)-1]
			t.Logf("%s: backlog peaked at %d unpublished rows, %d bytes of WAL; %d relay restarts; %v; took %v", tc.name, peakRows, peakLag, res.RelayRestarts, res.Report, res.Took)
			require.True(t, res.Report.OK(), "%v", res.Report)
			if tc.relay == Polling {
				require.Greater(t, peakRows, 500, "a second of orders at 1,500/s waits in the outbox")
				require.Zero(t, last.Unpublished, "drained")
			} else {
				require.Greater(t, peakLag, int64(100_000), "the slot retains the WAL of a second of orders")
			}
		})
	}
}

// Several polling relays with FOR UPDATE SKIP LOCKED lose and duplicate
// nothing, but they publish one customer's events out of order: each
// takes a different batch, and the batches race to the broker. One relay
// (or one per aggregate hash range) keeps per-aggregate order.
func TestSeveralPollingRelaysKeepEveryEventButNotItsOrder(t *testing.T) {
	db := postgres(t)
	k := kafkaFor(t, false)
	var ooo []int
	for _, relays := range []int{1, 3} {
		res, err := Flow(context.Background(), k, db, FlowConfig{Relay: Polling, Relays: relays, Orders: 3000, Rate: 3000, Batch: 20, Customers: 4, PollInterval: 5 * time.Millisecond, Seed: 7})
		require.NoError(t, err)
		t.Logf("%d polling relays: %v", relays, res.Report)
		require.Zero(t, res.Report.Lost+res.Report.DuplicateEffects+res.Report.Unpublished+res.Report.Phantom+res.Report.DownstreamLost+res.Report.DownstreamDuplicates, "%v", res.Report)
		ooo = append(ooo, res.Report.OutOfOrder)
	}
	require.Zero(t, ooo[0], "one relay publishes in order")
	require.Positive(t, ooo[1], "three relays racing publish out of order")
}

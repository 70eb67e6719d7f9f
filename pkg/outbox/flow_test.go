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

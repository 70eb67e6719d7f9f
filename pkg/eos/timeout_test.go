package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/stretchr/testify/require"
)

// A transaction left open holds back every read_committed reader of its
// partition until the coordinator aborts it, no sooner than its timeout;
// the records behind it then become readable, its own never do, and the
// stalled producer cannot commit.
func TestAStalledTransactionBlocksReadCommittedUntilItTimesOut(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const timeout, records = time.Second, 10
		s, err := TimedOutTxn(ctx, k, timeout, records, nil)
		require.NoError(t, err)
		t.Logf("%s: unblocked after %v; commit: %v; read_committed %v, read_uncommitted %v", k.Name, s.Unblocked, s.CommitErr, s.Committed, s.Uncommitted)
		require.GreaterOrEqual(t, s.Unblocked, timeout, "not aborted before its timeout")
		for _, e := range s.Samples {
			if e.At < timeout {
				require.Zero(t, e.Stable, "at %v the last stable offset is held at the open transaction's first record", e.At)
				require.GreaterOrEqual(t, e.HighWater, int64(2*records), "at %v every record is in the log", e.At)
			}
		}
		require.Error(t, s.CommitErr, "the stalled producer's commit after the abort is refused")
		require.Equal(t, map[string]int{"behind": records}, s.Committed)
		require.Equal(t, map[string]int{"behind": records, "stalled": records}, s.Uncommitted)
	})
}

func TestTimedOutTxnRefusesBadInput(t *testing.T) {
	k := embedded(t)
	for _, c := range []struct {
		name    string
		timeout time.Duration
		records int
		want    string
	}{
		{"a timeout too short to watch", time.Millisecond, 10, "between 100ms and 30s"},
		{"a timeout past the experiment's wait", time.Minute, 10, "between 100ms and 30s"},
		{"no records", time.Second, 0, "records must be between"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := TimedOutTxn(context.Background(), k, c.timeout, c.records, nil)
			require.ErrorContains(t, err, c.want)
		})
	}
}

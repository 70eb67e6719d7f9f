package ordering

import (
	"context"
	"testing"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	"github.com/stretchr/testify/require"
)

// A consumer that crashes between processing a batch and committing it
// has that batch delivered again to its partitions' next owners; the
// redelivery replays each partition's suffix in offset order, so no key
// is reordered, and an application that skips seqs it already applied
// sees every event once, in order.
func TestARebalanceRedeliversTheInFlightBatchInOrder(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		w := Workload{Users: 50, Events: 3000, Seed: 3}
		h, err := Rebalance(context.Background(), k, w, 6, 3)
		require.NoError(t, err)
		t.Logf("%s: in flight at the crash %d; delivered %v; applied %v; took %v", h.Engine, h.InFlight, h.Report, h.Applied, h.Took)
		require.Positive(t, h.InFlight)
		require.GreaterOrEqual(t, h.Report.Duplicated, h.InFlight, "the crashed consumer's batch was not delivered again")
		require.Zero(t, h.Report.Lost, "lost")
		require.Zero(t, h.Report.OutOfOrder, "a redelivery reordered a key")
		require.Zero(t, h.Report.Gaps, "gaps")
		require.True(t, h.Applied.InOrder(), "what an idempotent consumer applies: %v", h.Applied)
	})
}

func TestAppliedSkipsEverySeqAlreadyApplied(t *testing.T) {
	d := func(key string, seq int) history.Delivery {
		return history.Delivery{Event: history.Event{Key: key, Seq: seq}}
	}
	for name, c := range map[string]struct {
		in, want []history.Delivery
	}{
		"a replayed suffix is skipped":  {[]history.Delivery{d("a", 0), d("a", 1), d("a", 2), d("a", 1), d("a", 2), d("a", 3)}, []history.Delivery{d("a", 0), d("a", 1), d("a", 2), d("a", 3)}},
		"keys are judged apart":         {[]history.Delivery{d("a", 5), d("b", 0), d("a", 6)}, []history.Delivery{d("a", 5), d("b", 0), d("a", 6)}},
		"an exact duplicate is skipped": {[]history.Delivery{d("a", 0), d("a", 0)}, []history.Delivery{d("a", 0)}},
		"nothing in, nothing out":       {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, c.want, Applied(c.in))
		})
	}
}

func TestRebalanceRefusesBadInput(t *testing.T) {
	k := embedded(t)
	w := Workload{Users: 2, Events: 100}
	for name, c := range map[string]struct {
		w                     Workload
		partitions, consumers int
	}{
		"no partitions":                 {w, 0, 2},
		"one consumer cannot hand over": {w, 2, 1},
		"too many events":               {Workload{Users: 2, Events: MaxRunEvents + 1}, 2, 2},
		"a bad workload":                {Workload{Events: 10}, 2, 2},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Rebalance(context.Background(), k, c.w, c.partitions, c.consumers)
			require.Error(t, err)
		})
	}
}

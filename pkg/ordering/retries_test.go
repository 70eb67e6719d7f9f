package ordering

import (
	"context"
	"testing"

	"github.com/dsgym/dsgym/pkg/engines"

	"github.com/stretchr/testify/require"
)

func TestOnlyIdempotenceKeepsOrderWhenARetriedBatchHasRequestsBehindIt(t *testing.T) {
	k := embedded(t)
	for _, c := range []struct {
		idempotent bool
		inFlight   int
		inOrder    bool
	}{{false, 5, false}, {true, 5, true}, {false, 1, true}} {
		r, err := Retries(context.Background(), k, c.idempotent, c.inFlight, 500)
		require.NoError(t, err)
		t.Logf("idempotent %v, %d in flight: %v (%v)", c.idempotent, c.inFlight, r.Report, r.Took)
		require.Equal(t, c.inOrder, r.Report.OutOfOrder+r.Report.Gaps == 0, "idempotent %v, in flight %d: %v", c.idempotent, c.inFlight, r.Report)
	}
}

// Through a TCP proxy that holds the broker's responses, the producer
// resends its whole pipeline: without idempotence the log holds the
// resent batches twice (duplicates, no first delivery out of order); with
// it, nothing is added.
func TestOnTheWireOnlyIdempotenceKeepsTheResendOutOfTheLog(t *testing.T) {
	onBoth(t, func(t *testing.T, k *engines.KafkaEngine) {
		for _, c := range []struct {
			idempotent bool
			inFlight   int
		}{{false, 5}, {true, 5}} {
			r, err := RetriesOnTheWire(context.Background(), k, c.idempotent, c.inFlight, 500)
			require.NoError(t, err)
			t.Logf("%s, idempotent %v, %d in flight: %v (%v)", k.Name, c.idempotent, r.InFlight, r.Report, r.Took)
			require.Zero(t, r.Report.Lost, "lost")
			if c.idempotent {
				require.True(t, r.Report.InOrder(), "%v", r.Report)
			} else {
				require.Positive(t, r.Report.Duplicated, "the resend added no copy")
			}
		}
	})
}

func TestRetriesOnTheWireRefusesBadInput(t *testing.T) {
	k := embedded(t)
	for name, c := range map[string]struct{ inFlight, records int }{
		"no requests in flight": {0, 100},
		"six in flight":         {6, 100},
		"too few records":       {5, 9},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := RetriesOnTheWire(context.Background(), k, false, c.inFlight, c.records)
			require.Error(t, err)
		})
	}
}

package ordering

import (
	"context"
	"testing"

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

package outbox

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Design A is exactly-once inside Kafka and not in the database: a crash
// between the database write and the Kafka commit writes the batch twice;
// writing after the commit and crashing in between loses the rows while
// the topic carries their events.
func TestDesignALeavesTheDatabaseOutsideTheTransaction(t *testing.T) {
	k := kafkaFor(t, false)
	clean, err := OptionA(context.Background(), k, sqlite(), Config{Orders: 200, Seed: 1}, false)
	require.NoError(t, err)
	t.Logf("no crash: %v", clean.Report)
	require.True(t, clean.Report.OK(), "%v", clean.Report)

	twice, err := OptionA(context.Background(), k, sqlite(), Config{Orders: 200, Seed: 1, Crash: Crash{At: AWriteBeforeCommit, After: 2}}, false)
	require.NoError(t, err)
	t.Logf("crash after the DB write, before the Kafka commit: %v", twice.Report)
	require.True(t, twice.Crashed)
	require.Equal(t, 20, twice.Report.DuplicateEffects, "the batch was written twice")
	require.Zero(t, twice.Report.PublishedDuplicates+twice.Report.DownstreamDuplicates, "Kafka's side stayed exactly-once")

	lost, err := OptionA(context.Background(), k, sqlite(), Config{Orders: 200, Seed: 1, Crash: Crash{At: AWriteAfterCommit, After: 2}}, true)
	require.NoError(t, err)
	t.Logf("crash after the Kafka commit, before the DB write: %v", lost.Report)
	require.Equal(t, 20, lost.Report.Lost, "the batch's rows were never written")
	require.Equal(t, 20, lost.Report.Phantom, "and the topic carries their events")
}

package outbox

import (
	"context"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Design C holds only where every participant can prepare: PostgreSQL can,
// Kafka cannot. A crash before the decision rolls back cleanly; a crash
// after the decision and before Kafka's commit writes the batch twice; a
// crash after Kafka's commit leaves a prepared transaction that blocks a
// writer for as long as the coordinator is down.
func TestDesignCBlocksWhileInDoubtAndBreaksWhereKafkaCannotPrepare(t *testing.T) {
	k, pg := kafkaFor(t, false), postgres(t)
	ctx := context.Background()
	clean, err := OptionC(ctx, k, pg, Config{Orders: 200, Seed: 1}, 0)
	if err == ErrNoPreparedTransactions {
		t.Fatalf("%v (test/pg.sh and make postgres set max_prepared_transactions)", err)
	}
	require.NoError(t, err)
	t.Logf("no crash (%v): %v", clean.Took, clean.Report)
	require.True(t, clean.Report.OK(), "%v", clean.Report)
	require.Zero(t, clean.InDoubt)

	early, err := OptionC(ctx, k, pg, Config{Orders: 200, Seed: 1, Crash: Crash{At: CAfterPrepare, After: 2}}, 0)
	require.NoError(t, err)
	t.Logf("crash after the prepare (%v): %v; recovery: %v", early.Took, early.Report, early.Resolved)
	require.True(t, early.Crashed)
	require.Equal(t, 1, early.InDoubt)
	require.Contains(t, strings.Join(early.Resolved, " "), "rolled back (no decision: presumed abort)")
	require.True(t, early.Report.OK(), "presumed abort plus redelivery is exactly-once: %v", early.Report)

	broken, err := OptionC(ctx, k, pg, Config{Orders: 200, Seed: 1, Crash: Crash{At: CAfterDecision, After: 2}}, 0)
	require.NoError(t, err)
	t.Logf("crash after the decision, before the Kafka commit (%v): %v; recovery: %v", broken.Took, broken.Report, broken.Resolved)
	require.Contains(t, strings.Join(broken.Resolved, " "), "committed (the logged decision)")
	require.Equal(t, 20, broken.Report.DuplicateEffects, "Kafka aborted what the coordinator had decided to commit: the batch is written twice")

	const down = 1500 * time.Millisecond
	blocked, err := OptionC(ctx, k, pg, Config{Orders: 200, Seed: 1, Crash: Crash{At: CBeforeDBCommit, After: 2}}, down)
	require.NoError(t, err)
	t.Logf("crash after the Kafka commit, coordinator down %v: a writer waited %v; %v", down, blocked.Blocked, blocked.Report)
	require.True(t, blocked.Report.OK(), "%v", blocked.Report)
	require.GreaterOrEqual(t, blocked.Blocked, down*8/10, "the prepared transaction's locks held the writer for the coordinator's downtime")
	require.Less(t, blocked.Blocked, down+5*time.Second)

	_, err = OptionC(ctx, k, sqlite(), Config{Orders: 10}, 0)
	require.ErrorContains(t, err, "needs PostgreSQL")
	_, err = OptionC(ctx, k, pg, Config{Orders: 10, Crash: Crash{At: AWriteAfterCommit, After: 1}}, 0)
	require.ErrorContains(t, err, "design C crashes at")
}

func TestDesignCWithoutPreparedTransactionsSaysHowToEnableThem(t *testing.T) {
	url := enginetest.ThrowawayPostgres(t, "DSGYM_PG_MAX_PREPARED=0")
	t.Setenv(engines.PostgresURLEnv, url)
	pg, err := engines.Postgres(context.Background())
	require.NoError(t, err)
	_, err = OptionC(context.Background(), kafkaFor(t, false), pg, Config{Orders: 20, Seed: 1}, 0)
	require.ErrorIs(t, err, ErrNoPreparedTransactions)
}

package outbox

import (
	"context"
	"strings"
	"testing"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

func kafkaFor(t *testing.T, real bool) *engines.KafkaEngine {
	t.Helper()
	var opts []engines.KafkaOption
	if real {
		enginetest.Need(t, engines.KafkaBrokersEnv)
	} else {
		opts = append(opts, engines.Embedded())
	}
	k, err := engines.Kafka(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	return k
}

func sqlite() *engines.DatabaseEngine {
	return &engines.DatabaseEngine{Name: "SQLite, in process", Driver: "sqlite"}
}

func postgres(t *testing.T) *engines.DatabaseEngine {
	t.Helper()
	enginetest.Need(t, engines.PostgresURLEnv)
	d, err := engines.Postgres(context.Background())
	require.NoError(t, err)
	return d
}

func TestACrashFreeRunIsExactlyOnce(t *testing.T) {
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
			res, err := Run(context.Background(), kafkaFor(t, false), db, Config{Relay: tc.relay, Seed: 1, MalformedEvery: 50})
			require.NoError(t, err)
			t.Logf("%s: %v; %d restarts, took %v", tc.name, res.Report, res.Restarts, res.Took)
			require.True(t, res.Report.OK(), "%v", res.Report)
			require.Equal(t, 4, res.Report.Rejected, "every 50th of 200 orders is malformed")
			require.Zero(t, res.Report.PublishedDuplicates)
		})
	}
}

// Replaying the whole input topic from offset 0 changes nothing: the
// inbox holds every record's position. Without the inbox, the replay
// writes every order a second time.
func TestAReplayOfTheWholeInputChangesNothing(t *testing.T) {
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
			res, err := Run(context.Background(), kafkaFor(t, false), db, Config{Relay: tc.relay, Orders: 200, MalformedEvery: 50, ReplayAll: true, Seed: 2})
			require.NoError(t, err)
			t.Logf("%s: replayed %d records, %d skipped by the inbox; %v", tc.name, res.Replayed, res.ReplaySkipped, res.Report)
			require.Equal(t, 200, res.Replayed)
			require.Equal(t, 200, res.ReplaySkipped)
			require.True(t, res.Report.OK(), "%v", res.Report)
		})
	}
}

// A log-based relay refuses a slot that does not exist, or a
// publication that does not, with an error that says what to do; it
// never creates the slot itself (that would skip what committed before).
func TestALogRelayRefusesAMissingSlotOrPublication(t *testing.T) {
	db := postgres(t)
	k := kafkaFor(t, false)
	ctx := context.Background()
	d, err := NewDatabase(ctx, db, 2)
	require.NoError(t, err)
	defer d.Close()
	_, err = NewLogRelay(ctx, d, k, LogRelayConfig{Slot: "dsgym_outbox_no_such_slot", Publication: "dsgym_outbox_no_such_pub", Topic: "t"}, nil)
	require.ErrorContains(t, err, "does not exist: create it with SetupLog")

	slot := "dsgym_outbox_refuse_" + randomHex(3)
	require.NoError(t, SetupLog(ctx, d, slot, slot))
	defer dropLog(d, slot)
	_, err = NewLogRelay(ctx, d, k, LogRelayConfig{Slot: slot, Publication: "dsgym_outbox_no_such_pub", Topic: "t"}, nil)
	require.Error(t, err)
	t.Logf("missing publication: %v", err)

	_, err = Run(ctx, k, sqlite(), Config{Relay: LogBased})
	require.ErrorContains(t, err, "needs PostgreSQL")
}

// A traced run draws the crash and what follows it: the relay dies
// after the ack, restarts, and publishes the same events again.
func TestATracedRunDrawsTheCrashAndTheRepublish(t *testing.T) {
	res, err := Run(context.Background(), kafkaFor(t, false), sqlite(), Config{Orders: 6, Partitions: 1, Customers: 2, Batch: 3, Trace: true,
		Crash: Crash{At: RelayBeforeConfirm, After: 1}, Seed: 1})
	require.NoError(t, err)
	require.True(t, res.Report.OK(), "%v", res.Report)
	d := Diagram(res.Trace, 200, 40)
	t.Log(d)
	require.Contains(t, d, "Note over R: CRASH after the ack, before marking the rows")
	require.Contains(t, d, "Note over R: restarted")
	require.Equal(t, 2, strings.Count(d, "publish 3 events (i1-e1 ... i1-e3)"), "the batch published before the crash is published again")
	folded := Diagram(res.Trace, 10, 6)
	require.Contains(t, folded, "more steps ...")
	require.Contains(t, folded, "CRASH")
	require.NotContains(t, d, ";", "a semicolon ends a Mermaid statement")
}

package outbox

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// PostgreSQL restarts under the running pipeline (a fast shutdown cuts
// every session, the replication connection included). Every component
// whose next step fails starts again from what is durable: the inbox, the
// committed offsets, the outbox, the slot's confirmed position. Nothing is
// lost or applied twice, with either relay.
func TestAPostgreSQLRestartLosesAndDuplicatesNothing(t *testing.T) {
	srv := enginetest.StartPostgres(t)
	t.Setenv(engines.PostgresURLEnv, srv.URL)
	// A shutdown waits for a connected logical replication client to
	// confirm what was sent to it, up to wal_sender_timeout (60s by
	// default): 5s keeps this test short; the notebook states the default.
	admin, err := sql.Open("pgx", srv.URL)
	require.NoError(t, err)
	_, err = admin.Exec("ALTER SYSTEM SET wal_sender_timeout = '5s'")
	require.NoError(t, err)
	_, err = admin.Exec("SELECT pg_reload_conf()")
	require.NoError(t, err)
	admin.Close()
	pg, err := engines.Postgres(context.Background())
	require.NoError(t, err)
	k := kafkaFor(t, false)
	for _, relay := range []RelayKind{LogBased, Polling} {
		t.Run(string(relay), func(t *testing.T) {
			res, err := Run(context.Background(), k, pg, Config{Relay: relay, Orders: 300, Seed: 3, RestartDatabase: srv.Restart, RestartAfter: 25})
			require.NoError(t, err)
			t.Logf("%s: the restart took %v; %d components restarted after it; %v; took %v", relay, res.RestartTook, res.Reconnects, res.Report, res.Took)
			require.True(t, res.Report.OK(), "%v", res.Report)
			require.Positive(t, res.Reconnects, "some component saw its session cut")
			if relay == LogBased {
				require.Greater(t, res.RestartTook, 3*time.Second, "the shutdown waited for the connected CDC client (wal_sender_timeout 5s)")
			}
		})
	}
}

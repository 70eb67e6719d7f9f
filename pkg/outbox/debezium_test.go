package outbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// debezium finds make debezium's install, or skips: Debezium is opt-in
// (CI installs it with the other engines).
func debezium(t *testing.T) Debezium {
	t.Helper()
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
	}
	dz, err := FindDebezium(dir)
	if err != nil {
		if os.Getenv(enginetest.RequireEnv) != "" {
			t.Fatalf("%v (the engines step installs every engine)", err)
		}
		t.Skip(err)
	}
	return dz
}

// Debezium's outbox event router, killed with SIGKILL mid-stream and
// started again on its offsets: nothing is lost, and what was delivered
// since the last offset flush comes again. A longer flush interval means
// more duplicates.
func TestDebeziumIsAtLeastOnceWithDuplicatesBoundedByItsFlushInterval(t *testing.T) {
	dz := debezium(t)
	pg := postgres(t)
	require.True(t, pg.Real)
	var dups []int
	for _, flush := range []time.Duration{200 * time.Millisecond, 5 * time.Second} {
		res, err := RunDebezium(context.Background(), pg, dz, DebeziumConfig{Events: 1500, FlushInterval: flush, KillAfter: 700, Pace: 3 * time.Millisecond})
		require.NoError(t, err)
		t.Logf("offset.flush.interval.ms=%d: %d events, %d delivered, %d duplicates, %d lost, on %s, in %v", flush.Milliseconds(), res.Events, res.Delivered, res.Duplicates, res.Lost, res.Topic, res.Took)
		require.Zero(t, res.Lost, "Debezium lost events")
		dups = append(dups, res.Duplicates)
	}
	require.Positive(t, dups[1], "a kill 5 s into the flush window redelivered nothing")
	require.Greater(t, dups[1], dups[0], "a longer flush interval should redeliver more")
	_, err := RunDebezium(context.Background(), &engines.DatabaseEngine{Driver: "sqlite"}, dz, DebeziumConfig{Events: 1, FlushInterval: time.Second})
	require.ErrorContains(t, err, "PostgreSQL's WAL")
}

package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDayPartitionsDropOnlyWhatWasPublished(t *testing.T) {
	pg := postgres(t)
	ctx := context.Background()
	db, err := sql.Open(pg.Driver, pg.URL)
	require.NoError(t, err)
	defer db.Close()
	table := fmt.Sprintf("outbox_days_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ddl, err := PartitionedOutboxSQL(table)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, ddl)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	day0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, EnsureDayPartitions(ctx, db, table, day0, 3))
	require.NoError(t, EnsureDayPartitions(ctx, db, table, day0, 3), "existing partitions are kept")
	insert := func(day int, n int, published bool) {
		for i := range n {
			at := day0.AddDate(0, 0, day).Add(time.Duration(i) * time.Minute)
			var pub any
			if published {
				pub = at.Add(time.Second)
			}
			_, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (id, aggregatetype, aggregateid, type, payload, trace_id, created_at, published_at)
				VALUES ($1, 'order', 'c1', 'OrderPlaced', '{}', 't', $2, $3)`, table), fmt.Sprintf("e%d-%d", day, i), at, pub)
			require.NoError(t, err)
		}
	}
	insert(0, 5, true)
	insert(1, 4, false)
	insert(2, 3, false)

	dropped, err := DropDaysBefore(ctx, db, table, day0.AddDate(0, 0, 2))
	var unpub *UnpublishedError
	require.True(t, errors.As(err, &unpub), "day 1 holds unpublished rows: %v", err)
	require.Equal(t, int64(4), unpub.Unpublished)
	require.Equal(t, []string{table + "_20261201"}, dropped, "the published day went, the unpublished one stayed")
	var left int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&left))
	require.Equal(t, 7, left, "no row of an unpublished day is lost")

	_, err = db.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET published_at = now() WHERE created_at < $1", table), day0.AddDate(0, 0, 2))
	require.NoError(t, err)
	dropped, err = DropDaysBefore(ctx, db, table, day0.AddDate(0, 0, 2))
	require.NoError(t, err)
	require.Equal(t, []string{table + "_20261202"}, dropped)
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&left))
	require.Equal(t, 3, left, "the day after the cutoff is untouched")

	_, err = PartitionedOutboxSQL("outbox; DROP TABLE x")
	require.Error(t, err)
	require.Error(t, EnsureDayPartitions(ctx, db, table, day0, 0))
}

package cdc_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
)

var seq atomic.Int64

// fixture is a table, a publication on it and a slot name, unique to one
// test and removed after it.
type fixture struct {
	url, table, pub, slot string
	db                    *pgx.Conn
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	url := enginetest.Need(t, engines.PostgresURLEnv)
	ctx := context.Background()
	id := fmt.Sprintf("%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	f := &fixture{url: url, table: "cdc_t_" + id, pub: "cdc_p_" + id, slot: "cdc_s_" + id}
	db, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	f.db = db
	_, err = db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, payload text NOT NULL)", f.table))
	require.NoError(t, err)
	require.NoError(t, cdc.Setup(ctx, url, f.pub, f.table))
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cdc.DropSlot(ctx, url, f.slot)
		_, _ = db.Exec(ctx, "DROP PUBLICATION IF EXISTS "+f.pub)
		_, _ = db.Exec(ctx, "DROP TABLE IF EXISTS "+f.table)
		db.Close(ctx)
	})
	return f
}

// open opens a stream on the fixture's slot, abandoned at the end of t if
// the test has not closed it.
func (f *fixture) open(t *testing.T, opts ...cdc.Option) *cdc.Stream {
	t.Helper()
	s, err := cdc.Open(context.Background(), f.url, f.slot, f.pub, opts...)
	require.NoError(t, err)
	t.Cleanup(s.Abandon)
	return s
}

// insert commits one transaction inserting a row per id, with payload
// "p<id>".
func (f *fixture) insert(t *testing.T, ids ...int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.Begin(ctx)
	require.NoError(t, err)
	for _, id := range ids {
		_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (id, payload) VALUES ($1, $2)", f.table), id, fmt.Sprintf("p%d", id))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit(ctx))
}

// next is s.Next with a timeout.
func next(s *cdc.Stream, timeout time.Duration) (*cdc.Txn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.Next(ctx)
}

// ids lists the id column of every change of t.
func ids(t *cdc.Txn) []int64 {
	var out []int64
	for _, c := range t.Changes {
		row := c.New
		if row == nil {
			row = c.Old
		}
		out = append(out, row["id"].(int64))
	}
	return out
}

// drain reads transactions until none comes for quiet, returning the ids
// of their first changes.
func drain(t *testing.T, s *cdc.Stream, quiet time.Duration) []int64 {
	t.Helper()
	var out []int64
	for {
		txn, err := next(s, quiet)
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			return out
		}
		out = append(out, ids(txn)[0])
	}
}

// dial opens a second SQL connection, for a concurrent transaction.
func (f *fixture) dial(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, f.url)
}

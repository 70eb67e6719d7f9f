package cdc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/cdc"
)

func TestACommittedTransactionArrivesOnceWithItsChangesInOrder(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	ctx := context.Background()
	tx, err := f.db.Begin(ctx)
	require.NoError(t, err)
	for _, q := range []string{
		"INSERT INTO %s VALUES (1, 'a'), (2, 'b'), (3, 'c')",
		"UPDATE %s SET payload = 'B' WHERE id = 2",
		"DELETE FROM %s WHERE id = 1",
	} {
		_, err := tx.Exec(ctx, fmt.Sprintf(q, f.table))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit(ctx))

	txn, err := next(s, 5*time.Second)
	require.NoError(t, err)
	var ops []string
	for _, c := range txn.Changes {
		assert.Equal(t, "public", c.Schema)
		assert.Equal(t, f.table, c.Table)
		ops = append(ops, fmt.Sprintf("%s %v", c.Op, c.New["payload"]))
	}
	assert.Equal(t, []string{"insert a", "insert b", "insert c", "update B", "delete <nil>"}, ops)
	assert.Equal(t, []int64{1, 2, 3, 2, 1}, ids(txn))
	assert.Equal(t, map[string]any{"id": int64(1)}, txn.Changes[4].Old, "a delete carries the primary key")
	assert.Greater(t, txn.EndLSN, txn.CommitLSN)
	assert.False(t, txn.CommitTime.IsZero())

	_, err = next(s, 500*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the transaction comes once")
}

func TestTransactionsArriveInCommitOrderAndRollbacksNever(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	ctx := context.Background()
	insert := fmt.Sprintf("INSERT INTO %s VALUES ($1, 'x')", f.table)

	// A begins first and commits last; C rolls back.
	a, err := f.db.Begin(ctx)
	require.NoError(t, err)
	_, err = a.Exec(ctx, insert, 10)
	require.NoError(t, err)
	other, err := f.dial(ctx)
	require.NoError(t, err)
	defer other.Close(ctx)
	b, err := other.Begin(ctx)
	require.NoError(t, err)
	_, err = b.Exec(ctx, insert, 20)
	require.NoError(t, err)
	require.NoError(t, b.Commit(ctx))
	_, err = a.Exec(ctx, insert, 11)
	require.NoError(t, err)
	require.NoError(t, a.Commit(ctx))
	c, err := f.db.Begin(ctx)
	require.NoError(t, err)
	_, err = c.Exec(ctx, insert, 30)
	require.NoError(t, err)
	require.NoError(t, c.Rollback(ctx))
	f.insert(t, 40)

	var got [][]int64
	for range 3 {
		txn, err := next(s, 5*time.Second)
		require.NoError(t, err)
		got = append(got, ids(txn))
	}
	assert.Equal(t, [][]int64{{20}, {10, 11}, {40}}, got, "commit order, A's changes together, C absent")
	_, err = next(s, 500*time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the rolled-back transaction never arrives")
}

func TestARestartRedeliversEveryTransactionAfterTheAcknowledgedOne(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	for id := int64(1); id <= 5; id++ {
		f.insert(t, id)
	}
	var txns []*cdc.Txn
	for range 5 {
		txn, err := next(s, 5*time.Second)
		require.NoError(t, err)
		txns = append(txns, txn)
	}
	require.NoError(t, s.Ack(txns[1].EndLSN)) // 1 and 2 are processed
	sent, err := s.Flush(context.Background())
	require.NoError(t, err)
	assert.Equal(t, txns[1].EndLSN, sent)
	st, err := cdc.SlotStatus(context.Background(), f.url, f.slot)
	require.NoError(t, err)
	assert.Equal(t, txns[1].EndLSN, st.ConfirmedFlush, "the slot confirms exactly what was acknowledged")
	assert.True(t, st.Active)

	s.Abandon() // crash: 3, 4 and 5 were received, never processed
	s2 := f.open(t)
	assert.Equal(t, txns[1].EndLSN, s2.Start())
	assert.Equal(t, []int64{3, 4, 5}, drain(t, s2, time.Second))
}

func TestCloseConfirmsTheAcknowledgedPosition(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	f.insert(t, 1)
	f.insert(t, 2)
	first, err := next(s, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, s.Ack(first.EndLSN))
	require.NoError(t, s.Close(context.Background()))

	s2 := f.open(t)
	assert.Equal(t, []int64{2}, drain(t, s2, time.Second))
}

func TestCommitToCaptureLatency(t *testing.T) {
	const n = 200
	f := newFixture(t)
	s := f.open(t)
	lat := make([]time.Duration, 0, n)
	for id := int64(1); id <= n; id++ {
		f.insert(t, id)
		committed := time.Now()
		txn, err := next(s, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, []int64{id}, ids(txn), "in order, none skipped")
		lat = append(lat, txn.Received.Sub(committed))
		require.NoError(t, s.Ack(txn.EndLSN))
	}
	slices.Sort(lat)
	t.Logf("commit to capture over %d transactions: p50 %v, p99 %v, max %v", n, lat[n/2], lat[n*99/100], lat[n-1])
}

func TestFromStartsAfterAPositionTheConsumerPersisted(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	for id := int64(1); id <= 4; id++ {
		f.insert(t, id)
	}
	var third *cdc.Txn
	for range 3 {
		txn, err := next(s, 5*time.Second)
		require.NoError(t, err)
		third = txn
	}
	s.Abandon() // nothing acknowledged to the slot; the consumer kept third.EndLSN with its output

	s2 := f.open(t, cdc.From(third.EndLSN))
	assert.Equal(t, []int64{4}, drain(t, s2, time.Second))
}

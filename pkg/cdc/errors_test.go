package cdc_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/cdc"
)

// These need no server: the input is refused before any connection.
func TestBadNamesAreRefusedBeforeReachingTheServer(t *testing.T) {
	const url = "postgres://nobody@127.0.0.1:1/x"
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"slot with a capital", func() error { _, err := cdc.Open(ctx, url, "Slot", "pub"); return err }, `slot name "Slot"`},
		{"slot with a quote", func() error { _, err := cdc.Open(ctx, url, "s'; DROP TABLE x; --", "pub"); return err }, "slot name"},
		{"empty slot", func() error { _, err := cdc.Open(ctx, url, "", "pub"); return err }, "slot name"},
		{"slot of 64 bytes", func() error { _, err := cdc.Open(ctx, url, strings.Repeat("s", 64), "pub"); return err }, "at most 63 bytes"},
		{"publication with a space", func() error { _, err := cdc.Open(ctx, url, "s", "my pub"); return err }, "publication name"},
		{"Setup without tables", func() error { return cdc.Setup(ctx, url, "pub") }, "at least one table"},
		{"Setup with a bad table", func() error { return cdc.Setup(ctx, url, "pub", "orders;") }, "table name"},
		{"Setup with a bad schema", func() error { return cdc.Setup(ctx, url, "pub", "Sales.orders") }, "schema name"},
		{"status of a bad slot", func() error { _, err := cdc.SlotStatus(ctx, url, "-"); return err }, "slot name"},
		{"drop a bad slot", func() error { return cdc.DropSlot(ctx, url, "a-b") }, "slot name"},
		{"zero status interval", func() error { _, err := cdc.Open(ctx, url, "s", "p", cdc.StatusInterval(0)); return err }, "must be positive"},
		{"not a URL", func() error { return cdc.Setup(ctx, "postgres://%zz", "pub", "t") }, "not a PostgreSQL URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "cdc: "), err.Error())
		})
	}
}

func TestAServerThatIsNotThereFailsWithinTheReachTimeout(t *testing.T) {
	// A port that accepts and never answers: the slow failure.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	_, err = cdc.Open(context.Background(), "postgres://dsgym@"+ln.Addr().String()+"/postgres?sslmode=disable&connect_timeout=60", "s", "p")
	took := time.Since(start)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not accept a connection within 5s")
	assert.Contains(t, err.Error(), "make postgres")
	assert.Less(t, took, cdc.ReachTimeout+2*time.Second)
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}

func TestServerSideMistakesFailWithASentenceSayingWhatToDo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	_, err := cdc.Open(ctx, f.url, f.slot, "cdc_no_such_publication")
	assert.ErrorContains(t, err, "publication cdc_no_such_publication does not exist (cdc.Setup creates it)")

	err = cdc.Setup(ctx, f.url, f.pub, f.table, "cdc_no_such_table")
	assert.ErrorContains(t, err, "exists without public.cdc_no_such_table")

	s := f.open(t)
	_, err = cdc.Open(ctx, f.url, f.slot, f.pub)
	assert.ErrorContains(t, err, "is in use by another consumer")
	assert.ErrorContains(t, err, "one reader at a time")

	assert.ErrorContains(t, s.Ack(0), "Ack(0/0)")
	f.insert(t, 1)
	txn, err := next(s, 5*time.Second)
	require.NoError(t, err)
	assert.ErrorContains(t, s.Ack(txn.EndLSN+1), "past the last transaction delivered")
	require.NoError(t, s.Ack(txn.EndLSN))
	require.NoError(t, s.Ack(txn.CommitLSN), "an older position is not an error")
	assert.Equal(t, txn.EndLSN, s.Acked(), "and does not move the position back")

	_, err = cdc.SlotStatus(ctx, f.url, "cdc_no_such_slot")
	assert.ErrorIs(t, err, cdc.ErrNoSlot)
	assert.NoError(t, cdc.DropSlot(ctx, f.url, "cdc_no_such_slot"), "dropping a missing slot is not an error")
}

func TestNextWaitingInAnotherGoroutineReturnsWhenTheStreamCloses(t *testing.T) {
	f := newFixture(t)
	s := f.open(t)
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background())
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, s.Close(context.Background()))
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "stream closed")
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting 5 s after Close")
	}
}

func TestAnUnconfirmedSlotRetainsWAL(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.open(t).Close(context.Background()))
	before, err := cdc.SlotStatus(context.Background(), f.url, f.slot)
	require.NoError(t, err)
	for id := int64(1); id <= 200; id++ {
		f.insert(t, id)
	}
	after, err := cdc.SlotStatus(context.Background(), f.url, f.slot)
	require.NoError(t, err)
	t.Logf("WAL retained by an idle slot: %d bytes before, %d after 200 transactions", before.RetainedBytes, after.RetainedBytes)
	assert.Greater(t, after.RetainedBytes, before.RetainedBytes)
	assert.False(t, after.Active)
}

func TestASlotLeftBehindByADeadRelayIsReportedAsStale(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	find := func() *cdc.StaleSlot {
		t.Helper()
		stale, err := cdc.StaleSlots(ctx, f.url, 1)
		require.NoError(t, err)
		for i := range stale {
			if stale[i].Name == f.slot {
				return &stale[i]
			}
		}
		return nil
	}
	s := f.open(t)
	f.insert(t, 1)
	assert.Nil(t, find(), "a slot with its reader connected is not stale")
	s.Abandon() // the relay dies without closing or dropping its slot
	require.Eventually(t, func() bool {
		st, err := cdc.SlotStatus(ctx, f.url, f.slot)
		return err == nil && !st.Active
	}, 10*time.Second, 50*time.Millisecond, "the server notices the reader is gone")
	for id := int64(2); id <= 50; id++ {
		f.insert(t, id)
	}
	got := find()
	require.NotNil(t, got, "an idle slot holding WAL must be reported")
	assert.Positive(t, got.RetainedBytes)
	assert.Contains(t, got.Advice, "pg_drop_replication_slot('"+f.slot+"')")
	_, err := cdc.StaleSlots(ctx, f.url, -1)
	assert.ErrorContains(t, err, "minRetained >= 0")
	require.NoError(t, cdc.DropSlot(ctx, f.url, f.slot))
	assert.Nil(t, find(), "a dropped slot is gone")
}

package cdc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/cdc"
)

// receiveAndAckServerEnd is the known-bad consumer, written the way
// pglogrepl's own example is: it remembers the server's WAL end from every
// message and reports it as the written position, leaving the flushed
// position zero, which pglogrepl fills in with the written one. It
// receives n transactions, processes none, confirms, and crashes.
func receiveAndAckServerEnd(t *testing.T, f *fixture, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cdc.SlotStatus(ctx, f.url, f.slot)
	require.NoError(t, err)
	cfg, err := pgconn.ParseConfig(f.url)
	require.NoError(t, err)
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, pglogrepl.StartReplication(ctx, conn, f.slot, st.ConfirmedFlush, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", fmt.Sprintf("publication_names '%s'", f.pub)},
	}))

	var serverEnd pglogrepl.LSN
	commits, replied := 0, false
	for !replied {
		msg, err := conn.ReceiveMessage(ctx)
		require.NoError(t, err)
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok {
			continue
		}
		switch cd.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			k, err := pglogrepl.ParsePrimaryKeepaliveMessage(cd.Data[1:])
			require.NoError(t, err)
			serverEnd = max(serverEnd, k.ServerWALEnd)
			replied = commits == n // the answer to our status below
		case pglogrepl.XLogDataByteID:
			x, err := pglogrepl.ParseXLogData(cd.Data[1:])
			require.NoError(t, err)
			serverEnd = max(serverEnd, x.ServerWALEnd, x.WALStart+pglogrepl.LSN(len(x.WALData)))
			m, err := pglogrepl.Parse(x.WALData)
			require.NoError(t, err)
			if _, ok := m.(*pglogrepl.CommitMessage); ok {
				commits++
				if commits == n {
					require.NoError(t, pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{
						WALWritePosition: serverEnd, ReplyRequested: true,
					}))
				}
			}
		}
	}
	_ = conn.Conn().Close() // crash
}

func TestAckingTheServerWALEndLosesReceivedTransactionsOnACrash(t *testing.T) {
	const n = 5
	for _, tc := range []struct {
		name    string
		consume func(t *testing.T, f *fixture)
		lost    int
	}{
		{"known bad: server WAL end as the written position, flush left zero", func(t *testing.T, f *fixture) {
			receiveAndAckServerEnd(t, f, n)
		}, n},
		{"Stream: only the acknowledged position, in all three fields", func(t *testing.T, f *fixture) {
			s := f.open(t)
			for range n {
				_, err := next(s, 5*time.Second)
				require.NoError(t, err)
			}
			_, err := s.Flush(context.Background())
			require.NoError(t, err)
			s.Abandon()
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			require.NoError(t, f.open(t).Close(context.Background())) // creates the slot
			for id := int64(1); id <= n; id++ {
				f.insert(t, id)
			}
			tc.consume(t, f) // receives all n, processes none, crashes

			got := drain(t, f.open(t), time.Second)
			lost := n - len(got)
			t.Logf("%s: %d of %d received-but-unprocessed transactions lost after the crash", tc.name, lost, n)
			assert.Equal(t, tc.lost, lost)
		})
	}
}

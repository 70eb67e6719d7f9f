package outbox

import (
	"context"
	"database/sql"
	"testing"

	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
	"github.com/stretchr/testify/require"
)

// writeWithoutInbox upserts the order and inserts the outbox row but
// keeps no inbox: a replayed batch writes everything again.
func writeWithoutInbox(ctx context.Context, tx *sql.Tx, w Write) (bool, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM inbox WHERE topic = $1 AND partition = $2 AND "offset" = $3`, w.Topic, w.Partition, w.Offset); err != nil {
		return false, err
	}
	return ref.WriteOrder(ctx, tx, w)
}

// applyWithoutInbox applies every event it reads.
func applyWithoutInbox(ctx context.Context, tx *sql.Tx, eventID string, e Event) (bool, error) {
	return true, step.ApplyEffect(ctx, tx, eventID, e)
}

// The checker is trusted because it catches known-bad pipelines, each
// under the crash that exposes it, and the same crash with the reference
// pipeline is clean.
func TestTheCheckerCatchesKnownBadPipelines(t *testing.T) {
	type bad struct {
		name  string
		crash Point
		cfg   Config
		pg    bool
		want  func(Report) int
	}
	for _, tc := range []bad{
		{"ingest without an inbox", IngestBeforeOffsets, Config{Write: writeWithoutInbox}, false, func(r Report) int { return r.DuplicateEffects }},
		{"downstream without an inbox", RelayBeforeConfirm, Config{Apply: applyWithoutInbox}, false, func(r Report) int { return r.DownstreamDuplicates }},
		{"log relay confirming before it publishes", RelayBeforePublish, Config{Relay: LogBased, confirmFirst: true}, true, func(r Report) int { return r.Unpublished }},
		{"ingest without an inbox, input replayed from offset 0", "", Config{Write: writeWithoutInbox, ReplayAll: true}, false, func(r Report) int { return r.DuplicateEffects }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := sqlite()
			if tc.pg {
				db = postgres(t)
			}
			k := kafkaFor(t, false)
			cfg := tc.cfg
			cfg.Seed = 7
			if tc.crash != "" {
				cfg.Crash = Crash{At: tc.crash, After: 2}
			}
			res, err := Run(context.Background(), k, db, cfg)
			require.NoError(t, err)
			t.Logf("%s, crash %v: %v", tc.name, &cfg.Crash, res.Report)
			require.Equal(t, tc.crash != "", res.Crashed)
			require.Positive(t, tc.want(res.Report), "the checker missed it: %v", res.Report)
			require.False(t, res.Report.OK())

			cfg.Write, cfg.Apply, cfg.confirmFirst = nil, nil, false
			ref, err := Run(context.Background(), k, db, cfg)
			require.NoError(t, err)
			require.True(t, ref.Report.OK(), "the reference under the same crash: %v", ref.Report)
		})
	}
}

package outbox

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every crash point, with both relays where PostgreSQL runs, leaves the
// invariants intact; a crash between publishing and confirming shows up
// as duplicates on the topic, absorbed downstream; a crash between the
// database commit and the offset commit shows up as records the ingest
// inbox skips.
func TestEveryCrashPointKeepsEffectsExactlyOnce(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "PostgreSQL"
		}
		t.Run(name, func(t *testing.T) {
			db := sqlite()
			if pg {
				db = postgres(t)
			}
			cells, err := Matrix(context.Background(), kafkaFor(t, false), db, MatrixConfig{Passes: []int{1, 3}, Seeds: 1})
			require.NoError(t, err)
			for _, c := range cells {
				t.Logf("%s, %s: %s; %d published, %d duplicates (max %d), ingest inbox skipped %d, downstream inbox %d",
					c.Relay, c.At, c.Verdict(), c.Published, c.PublishedDuplicates, c.MaxDuplicates, c.Skipped, c.DownstreamDuplicates)
				require.Zero(t, c.Violations, "%s at %s: %v", c.Relay, c.At, c.First)
				require.Equal(t, c.Runs, c.Fired, "every crash fired")
				switch c.At {
				case RelayBeforeConfirm:
					require.Positive(t, c.PublishedDuplicates, "a relay dying after the ack re-publishes")
					require.Positive(t, c.DownstreamDuplicates, "and the downstream inbox absorbs it")
				case IngestBeforeOffsets:
					require.Positive(t, c.Skipped, "the replayed batch is skipped by the inbox")
				case DownstreamBeforeOffsets:
					require.Positive(t, c.DownstreamDuplicates, "the replayed batch is skipped by the downstream inbox")
				}
			}
		})
	}
}

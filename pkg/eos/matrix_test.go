package eos

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashMatrixVerdicts runs every mode x crash point over 10 seeds (200
// schedules) on kfake and checks the chapter's claims cell by cell: the
// checker finds at-most-once's losses and at-least-once's duplicates (it
// can fail), and finds nothing in transactions and the idempotent sink.
func TestCrashMatrixVerdicts(t *testing.T) {
	k := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	cells, err := Matrix(ctx, k, MatrixConfig{})
	require.NoError(t, err)
	t.Logf("%d schedules in %v", len(cells)*10, time.Since(began).Round(time.Millisecond))
	for _, c := range cells {
		lost, dup := c.PerThousand()
		t.Logf("%-20v %-14v lost %5.1f/1000 dup %5.1f/1000 aborted reads rc %d ru %d, clean %d/%d", c.Mode, c.Point, lost, dup, c.AbortedReads, c.AbortedUncommitted, c.Clean, c.Runs)
		require.Zero(t, c.AbortedReads, "read_committed never sees an aborted record")
		switch {
		case c.Mode == Transactional || c.Mode == IdempotentSink:
			require.Equal(t, c.Runs, c.Clean, "%v at %v: exactly-once in every run", c.Mode, c.Point)
		case c.Mode == AtMostOnce && (c.Point == AfterConsume || c.Point == MidOutput):
			require.Positive(t, c.Lost, "at-most-once loses what it committed and never wrote")
			require.Zero(t, c.Duplicated)
		case c.Mode != AtMostOnce && (c.Point == MidOutput || c.Point == BeforeCommit):
			require.Positive(t, c.Duplicated, "%v reprocesses what it wrote and never committed", c.Mode)
			require.Zero(t, c.Lost)
		default:
			require.Equal(t, c.Runs, c.Clean, "%v at %v: nothing was in flight", c.Mode, c.Point)
		}
		if c.Mode == Transactional && (c.Point == MidOutput || c.Point == BeforeCommit) {
			require.Positive(t, c.AbortedUncommitted, "read_uncommitted sees the crashed transaction's records")
		}
	}
}

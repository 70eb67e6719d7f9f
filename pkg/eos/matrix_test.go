package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/twmb/franz-go/pkg/kgo"

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

// A crash that leaves a transaction open when no input is left (here the
// step committed the offsets outside the transaction, so the next
// instance has nothing to consume) does not hold read_committed readers
// for the transaction timeout (40 s): the next instance fences the
// transactional.id as it starts, which aborts the open transaction.
func TestTheNextInstanceAbortsAnOpenTransactionAsItStarts(t *testing.T) {
	k := embedded(t)
	offsetsFirst := func(ctx context.Context, s step.Session, out []*kgo.Record) (step.Outcome, error) {
		if err := s.Begin(); err != nil {
			return step.Retry, err
		}
		if err := s.Produce(ctx, out...); err != nil {
			return step.Retry, err
		}
		if err := s.CommitOffsets(ctx); err != nil {
			return step.Retry, err
		}
		if ok, err := s.End(ctx, kgo.TryCommit); err != nil || !ok {
			return step.Retry, err
		}
		return step.Committed, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	cells, err := Matrix(ctx, k, MatrixConfig{Modes: []Mode{Transactional}, Seeds: []uint64{1}, Points: []Point{BeforeCommit},
		Base: Schedule{Records: 100, Rules: Rules{Txn: offsetsFirst}}})
	require.NoError(t, err, "the crashed transaction stayed open")
	took := time.Since(began)
	require.Len(t, cells, 1)
	t.Logf("took %v; lost %d", took, cells[0].Lost)
	require.Positive(t, cells[0].Lost, "the offsets-first step lost nothing: the crash missed its window")
	require.Less(t, took, 10*time.Second, "the run waited for the transaction timeout")
}

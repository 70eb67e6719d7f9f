package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// TestRealBrokerGivesTheSameVerdicts runs one schedule per mode and crash
// point on the real broker: the verdicts must match kfake's.
func TestRealBrokerGivesTheSameVerdicts(t *testing.T) {
	enginetest.Need(t, engines.KafkaBrokersEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k, err := engines.Kafka(ctx)
	require.NoError(t, err)
	require.True(t, k.Real)
	fake := embedded(t)
	for _, m := range Modes {
		for _, pt := range []Point{MidOutput, BeforeCommit} {
			s := Schedule{Mode: m, Point: pt, Seed: 3, Records: 400}
			real, err := RunSchedule(ctx, k, s)
			require.NoError(t, err)
			emb, err := RunSchedule(ctx, fake, s)
			require.NoError(t, err)
			t.Logf("%-20v %-14v real: %v | ru %d aborted (%v); kfake: %v", m, pt, real.Committed, real.Uncommitted.AbortedReads, real.Elapsed.Round(time.Millisecond), emb.Committed)
			real.Committed.Examples, emb.Committed.Examples = nil, nil
			require.Equal(t, emb.Committed, real.Committed)
			require.Equal(t, emb.Uncommitted.AbortedReads, real.Uncommitted.AbortedReads)
		}
	}
}

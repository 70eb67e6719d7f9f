package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/stretchr/testify/require"
)

func embedded(t *testing.T) *engines.KafkaEngine {
	t.Helper()
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	require.NoError(t, err)
	t.Cleanup(k.Close)
	return k
}

func TestOneScheduleOfEachMode(t *testing.T) {
	k := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range Modes {
		for _, pt := range Points {
			v, err := RunSchedule(ctx, k, Schedule{Mode: m, Point: pt, Seed: 1})
			require.NoError(t, err)
			t.Logf("%-20v %-14v crashed=%v batch=%d rc: %v | ru: %v (%v)", m, pt, v.Crashed, v.Crash.Batch, v.Committed, v.Uncommitted, v.Elapsed.Round(time.Millisecond))
		}
	}
}

package eos

import (
	"context"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

func checkFencing(t *testing.T, k *engines.KafkaEngine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := Zombie(ctx, k, 5)
	require.NoError(t, err)
	t.Logf("%s: zombie's commit: %v; read_committed %v, read_uncommitted %v", f.Engine, f.ZombieErr, f.Committed, f.Uncommitted)
	require.True(t, f.Fenced(), "the zombie's commit is refused with a fencing error, got %v", f.ZombieErr)
	require.Equal(t, map[string]int{"successor": 5}, f.Committed, "read_committed sees only the successor's transaction")
	require.Equal(t, map[string]int{"successor": 5, "zombie": 5}, f.Uncommitted, "read_uncommitted sees the aborted records too")
	require.Contains(t, f.Mermaid(), "zombie->>broker")
}

func TestAZombieIsFencedByItsSuccessorsEpoch(t *testing.T) {
	t.Run("kfake", func(t *testing.T) { checkFencing(t, embedded(t)) })
	t.Run("real broker", func(t *testing.T) {
		enginetest.Need(t, engines.KafkaBrokersEnv)
		k, err := engines.Kafka(context.Background())
		require.NoError(t, err)
		checkFencing(t, k)
	})
}

func TestZombieRejectsNoRecords(t *testing.T) {
	_, err := Zombie(context.Background(), embedded(t), 0)
	require.ErrorContains(t, err, "records must be at least 1")
}

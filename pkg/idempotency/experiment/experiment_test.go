package experiment_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
	"github.com/dsgym/dsgym/pkg/idempotency/storetest"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

// envs are the engines to run on: SQLite, and PostgreSQL when configured
// (skipped with a message otherwise, failed under CI).
func envs(t *testing.T) []experiment.Env {
	out := []experiment.Env{experiment.SQLite()}
	t.Run("postgres available", func(t *testing.T) {
		storetest.Open(t, idempotency.Postgres)
		pg, err := experiment.Postgres()
		require.NoError(t, err)
		out = append(out, pg)
	})
	return out
}

func TestWhyDuplicatesShowsTheSecondEffectAndItsCure(t *testing.T) {
	for _, env := range envs(t) {
		without, err := experiment.WhyDuplicates(context.Background(), env, false, 1)
		require.NoError(t, err)
		assert.EqualValues(t, 2, without.Effects, "%s without a key", env)
		with, err := experiment.WhyDuplicates(context.Background(), env, true, 1)
		require.NoError(t, err)
		assert.EqualValues(t, 1, with.Effects, "%s with a key", env)
		require.Len(t, with.Attempts, 3)
		assert.True(t, with.Attempts[2].Replayed)
		assert.Contains(t, with.Mermaid, "sequenceDiagram")
		assert.Contains(t, with.Mermaid, "replays")
	}
}

func TestTheStormCountsAreTheSameForTheSameSeed(t *testing.T) {
	cfg := experiment.StormConfig{Seed: 5, Events: 60, LossRates: []float64{0, 0.3}}
	a, err := experiment.Storm(context.Background(), experiment.SQLite(), cfg)
	require.NoError(t, err)
	b, err := experiment.Storm(context.Background(), experiment.SQLite(), cfg)
	require.NoError(t, err)
	require.Len(t, a, 6)
	for i := range a {
		assert.Equal(t, a[i].Duplicates, b[i].Duplicates, "%v at %v", a[i].Policy, a[i].LossRate)
		assert.Equal(t, a[i].Lost, b[i].Lost)
		if a[i].Policy == idempotency.SameKey {
			assert.Zero(t, a[i].Duplicates, "with the same key on every retry there is no duplicate")
		}
		if a[i].LossRate == 0 {
			assert.Zero(t, a[i].Duplicates, "no faults, no duplicates")
		}
	}
	for _, p := range a {
		if p.LossRate == 0.3 && p.Policy != idempotency.SameKey {
			assert.Positive(t, p.Duplicates, "%v at 30%% loss", p.Policy)
		}
	}
	_, err = experiment.Storm(context.Background(), experiment.SQLite(), experiment.StormConfig{LossRates: []float64{1}})
	require.Error(t, err)
}

func TestRaceClaimsExposesCheckThenInsert(t *testing.T) {
	bad, err := experiment.RaceClaims(context.Background(), experiment.SQLite(), experiment.CheckThenInsert, 10, 6, 300*time.Microsecond)
	require.NoError(t, err)
	good, err := experiment.RaceClaims(context.Background(), experiment.SQLite(), solution.Claim, 10, 6, 300*time.Microsecond)
	require.NoError(t, err)
	assert.Equal(t, map[int]int{1: 10}, good.ClaimsPerKey)
	assert.Less(t, bad.ClaimsPerKey[1], 10, "check-then-insert lets several racers claim a key: %v", bad.ClaimsPerKey)
	_, err = experiment.RaceClaims(context.Background(), experiment.SQLite(), nil, 1, 1, 0)
	require.Error(t, err)
}

func TestBurstMakesOneEffectPerKey(t *testing.T) {
	for _, env := range envs(t) {
		r, err := experiment.Burst(context.Background(), env, idempotency.TwoTransactions, experiment.Steps{}, 50, 8)
		require.NoError(t, err)
		assert.Equal(t, map[int]int{0: 0, 1: 50}, r.EffectsPerKey, "%s", env)
		assert.Zero(t, r.Disagreements)
	}
}

func TestCostMeasuresEveryConfiguration(t *testing.T) {
	pts, err := experiment.Cost(context.Background(), experiment.SQLite(), 200, 8, experiment.Steps{})
	require.NoError(t, err)
	require.Len(t, pts, len(experiment.CostConfigs))
	for i, p := range pts {
		assert.Equal(t, experiment.CostConfigs[i], p.Config)
		assert.Positive(t, p.PerSecond)
		assert.LessOrEqual(t, p.P50, p.P99)
	}
	_, err = experiment.Cost(context.Background(), experiment.SQLite(), 1, 8, experiment.Steps{})
	require.Error(t, err)
}

func TestCostRoundsReportMediansWithinTheirRange(t *testing.T) {
	spreads, err := experiment.CostRounds(context.Background(), experiment.SQLite(), 100, 8, 3, experiment.Steps{})
	require.NoError(t, err)
	require.Len(t, spreads, len(experiment.CostConfigs))
	for i, s := range spreads {
		assert.Equal(t, experiment.CostConfigs[i], s.Config)
		assert.Equal(t, 3, s.Rounds)
		assert.Positive(t, s.MinPerSec)
		assert.LessOrEqual(t, s.MinPerSec, s.PerSecond, "%s: median below the minimum", s.Config)
		assert.LessOrEqual(t, s.PerSecond, s.MaxPerSec, "%s: median above the maximum", s.Config)
	}
	for _, rounds := range []int{0, 51} {
		_, err := experiment.CostRounds(context.Background(), experiment.SQLite(), 100, 8, rounds, experiment.Steps{})
		require.Error(t, err, "rounds %d", rounds)
	}
}

// Releasing the key on the 5xx lets the retry charge again; a recovery
// point recorded before the failing write keeps the key and the retry
// resumes: one charge, on every engine.
func TestARecoveryPointKeepsARetryFromRepeatingAnOutsideCall(t *testing.T) {
	for _, env := range experiment.Envs() {
		for _, c := range []struct {
			checkpoint bool
			charges    int64
		}{{false, 2}, {true, 1}} {
			r, err := experiment.OutsideCall(context.Background(), env, c.checkpoint)
			require.NoError(t, err)
			t.Logf("%+v", r)
			require.Equal(t, []int{503, 201, 201}, r.Statuses, "%s, checkpoint %v: the first attempt fails, the retry succeeds, the next is a replay", env, c.checkpoint)
			require.Equal(t, c.charges, r.Charges, "%s, checkpoint %v: charges at the provider", env, c.checkpoint)
			require.EqualValues(t, 2, r.Handled, "%s: the handler ran on the first attempt and the first retry only", env)
			if c.checkpoint {
				require.EqualValues(t, 1, r.Kept, "%s: the failed claim was kept", env)
			}
		}
	}
}

func TestStorageLevelsOffAtRateTimesTTL(t *testing.T) {
	series, err := experiment.StorageVsTTL(context.Background(), experiment.SQLite(), experiment.StorageConfig{Seed: 1, Hours: 30, TTLs: []time.Duration{2 * time.Hour, 8 * time.Hour}})
	require.NoError(t, err)
	require.Len(t, series, 2)
	for _, s := range series {
		last := s.Rows[len(s.Rows)-1]
		assert.InEpsilon(t, s.Steady, last, 0.2, "TTL %v: %v rows at the end, model %v", s.TTL, last, s.Steady)
		assert.Positive(t, s.Deleted)
	}
	again, err := experiment.StorageVsTTL(context.Background(), experiment.SQLite(), experiment.StorageConfig{Seed: 1, Hours: 30, TTLs: []time.Duration{2 * time.Hour, 8 * time.Hour}})
	require.NoError(t, err)
	assert.Equal(t, series[0].Rows, again[0].Rows, "same seed, same curve")
	_, err = experiment.StorageVsTTL(context.Background(), experiment.SQLite(), experiment.StorageConfig{TTLs: []time.Duration{time.Second}})
	require.Error(t, err)
}

func TestRestartStormLosesAndDuplicatesNothing(t *testing.T) {
	for _, env := range envs(t) {
		for _, mode := range []idempotency.Mode{idempotency.TwoTransactions, idempotency.OneTransaction} {
			r, err := experiment.RestartStorm(context.Background(), env, experiment.RestartConfig{Seed: 2, Events: 200, Mode: mode})
			require.NoError(t, err)
			assert.Zero(t, r.Duplicates, "%s %s", env, mode)
			assert.Zero(t, r.Lost, "%s %s", env, mode)
			assert.Zero(t, r.Unacknowledged, "%s %s", env, mode)
			assert.Greater(t, r.RestartAt, r.CrashAt)
			assert.NotEmpty(t, r.Timeline)
		}
	}
}

func TestPostgresEnvSaysHowToEnableIt(t *testing.T) {
	t.Setenv(idempotency.PostgresURLEnv, "")
	_, err := experiment.Postgres()
	require.ErrorIs(t, err, experiment.ErrNoPostgres)
	assert.Contains(t, err.Error(), "make postgres")
	assert.Len(t, experiment.Envs(), 1)
}

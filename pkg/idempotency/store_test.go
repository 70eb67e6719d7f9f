package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	"github.com/dsgym/dsgym/pkg/idempotency/storetest"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func claimReq(key, hash, lease string, now time.Time) dedupe.Request {
	return dedupe.Request{Key: key, Hash: hash, Lease: lease, Now: now, TTL: time.Hour, LeaseFor: 10 * time.Second}
}

func complete(t *testing.T, s *idempotency.Store, key, lease string, resp dedupe.Response) error {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	if err := s.Complete(ctx, tx, key, lease, resp); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func TestClaimWalksThroughEveryOutcome(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		ctx, q := context.Background(), s.Querier()
		c, err := solution.Claim(ctx, q, claimReq("k1", "h1", "L1", t0))
		require.NoError(t, err)
		assert.Equal(t, dedupe.Claimed, c.Outcome, "a new key is claimed")

		e, ok, err := s.Lookup(ctx, "k1")
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, e.InFlight())
		assert.Equal(t, t0.Add(time.Hour).UnixMicro(), e.ExpiresAt.UnixMicro(), "expires_at is now + TTL")
		assert.Equal(t, t0.Add(10*time.Second).UnixMicro(), e.LockedUntil.UnixMicro(), "locked_until is now + lease")

		c, err = solution.Claim(ctx, q, claimReq("k1", "h1", "L2", t0.Add(time.Second)))
		require.NoError(t, err)
		assert.Equal(t, dedupe.InFlight, c.Outcome, "a retry during processing sees it in flight")

		c, err = solution.Claim(ctx, q, claimReq("k1", "other", "L3", t0.Add(time.Second)))
		require.NoError(t, err)
		assert.Equal(t, dedupe.Mismatch, c.Outcome, "another request under the same key is a mismatch")

		resp := dedupe.Response{Status: 201, ContentType: "application/json", Body: []byte(`{"seq":7}`), Reference: "/events/7"}
		require.ErrorIs(t, complete(t, s, "k1", "L2", resp), idempotency.ErrLeaseLost, "a lease that does not hold the key cannot complete it")
		require.NoError(t, complete(t, s, "k1", "L1", resp))

		c, err = solution.Claim(ctx, q, claimReq("k1", "h1", "L4", t0.Add(time.Minute)))
		require.NoError(t, err)
		assert.Equal(t, dedupe.Replayed, c.Outcome, "a retry after completion is replayed")
		assert.Equal(t, resp, c.Response, "the replay is the stored response")
	})
}

func TestAnExpiredLeaseIsTakenOverAndFencesTheOldHolder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		ctx, q := context.Background(), s.Querier()
		_, err := solution.Claim(ctx, q, claimReq("k", "h", "dead", t0))
		require.NoError(t, err)
		later := t0.Add(11 * time.Second)
		var wg sync.WaitGroup
		outcomes := make([]dedupe.Outcome, 8)
		for i := range outcomes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := solution.Claim(ctx, q, claimReq("k", "h", fmt.Sprint("new-", i), later))
				if err == nil {
					outcomes[i] = c.Outcome
				}
			}()
		}
		wg.Wait()
		winners := 0
		for _, o := range outcomes {
			if o == dedupe.Claimed {
				winners++
			} else {
				assert.Equal(t, dedupe.InFlight, o)
			}
		}
		assert.Equal(t, 1, winners, "exactly one of 8 concurrent retries takes the key over")
		require.ErrorIs(t, complete(t, s, "k", "dead", dedupe.Response{Status: 201}), idempotency.ErrLeaseLost,
			"the presumed-dead holder can no longer store a result")
	})
}

func TestConcurrentClaimsOfOneKeyHaveExactlyOneWinner(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		ctx, q := context.Background(), s.Querier()
		const keys, retries = 100, 8
		var mu sync.Mutex
		wins := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, keys*retries)
		for k := range keys {
			for r := range retries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprint("key-", k)
					c, err := solution.Claim(ctx, q, claimReq(key, "h", fmt.Sprint(key, "/", r), t0))
					if err != nil {
						errs <- err
						return
					}
					if c.Outcome == dedupe.Claimed {
						mu.Lock()
						wins[key]++
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		require.Len(t, wins, keys, "every key is claimed")
		for k, n := range wins {
			assert.Equal(t, 1, n, "key %s claimed %d times", k, n)
		}
	})
}

func TestTheSweepDeletesExpiredKeysButNotLiveClaims(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		ctx, q := context.Background(), s.Querier()
		short := func(key, lease string, now time.Time, ttl, leaseFor time.Duration) {
			t.Helper()
			c, err := solution.Claim(ctx, q, dedupe.Request{Key: key, Hash: "h", Lease: lease, Now: now, TTL: ttl, LeaseFor: leaseFor})
			require.NoError(t, err)
			require.Equal(t, dedupe.Claimed, c.Outcome)
		}
		short("done-old", "a", t0, time.Minute, time.Second)
		require.NoError(t, complete(t, s, "done-old", "a", dedupe.Response{Status: 201}))
		short("done-new", "b", t0.Add(50*time.Minute), time.Hour, time.Second)
		require.NoError(t, complete(t, s, "done-new", "b", dedupe.Response{Status: 201}))
		short("abandoned", "c", t0, time.Minute, 30*time.Second)
		short("live", "d", t0, time.Minute, time.Minute)
		// "live" is taken over later with a fresh lease running past its expiry.
		c, err := solution.Claim(ctx, q, claimReq("live", "h", "d2", t0.Add(115*time.Second)))
		require.NoError(t, err)
		require.Equal(t, dedupe.Claimed, c.Outcome)

		n, err := solution.Sweep(ctx, q, t0.Add(2*time.Minute), 100)
		require.NoError(t, err)
		assert.EqualValues(t, 2, n, "the old completed key and the abandoned claim go")
		for key, want := range map[string]bool{"done-old": false, "abandoned": false, "done-new": true, "live": true} {
			_, ok, err := s.Lookup(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, want, ok, "key %s kept", key)
		}
	})
}

func TestSweeperDeletesInBatchesUntilDone(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		ctx, q := context.Background(), s.Querier()
		for i := range 25 {
			key := fmt.Sprint("k", i)
			_, err := solution.Claim(ctx, q, dedupe.Request{Key: key, Hash: "h", Lease: key, Now: t0, TTL: time.Minute, LeaseFor: time.Second})
			require.NoError(t, err)
			require.NoError(t, complete(t, s, key, key, dedupe.Response{Status: 201}))
		}
		calls := 0
		sw, err := idempotency.NewSweeper(idempotency.SweeperConfig{Store: s, Batch: 10, Now: func() time.Time { return t0.Add(time.Hour) },
			Sweep: func(ctx context.Context, db dedupe.Querier, now time.Time, limit int) (int64, error) {
				calls++
				return solution.Sweep(ctx, db, now, limit)
			}})
		require.NoError(t, err)
		n, err := sw.SweepOnce(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 25, n)
		assert.Equal(t, 3, calls, "10 + 10 + 5")
		st, err := s.Stats(ctx)
		require.NoError(t, err)
		assert.Zero(t, st.Rows)
	})
}

func TestTheBackgroundSweeperRuns(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	ctx := context.Background()
	_, err := solution.Claim(ctx, s.Querier(), dedupe.Request{Key: "k", Hash: "h", Lease: "l", Now: t0, TTL: time.Minute, LeaseFor: time.Second})
	require.NoError(t, err)
	require.NoError(t, complete(t, s, "k", "l", dedupe.Response{Status: 201}))
	sw, err := idempotency.StartSweeper(ctx, idempotency.SweeperConfig{Store: s, Every: 5 * time.Millisecond, Now: func() time.Time { return t0.Add(time.Hour) }})
	require.NoError(t, err)
	defer sw.Stop()
	require.Eventually(t, func() bool { return sw.Stats().Deleted == 1 }, 5*time.Second, 5*time.Millisecond)
}

func TestGroupCommitIsolatesARolledBackMember(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	ctx := context.Background()
	const n = 60
	_, before := s.GroupCommits()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, err := s.Begin(ctx)
			if err != nil {
				errs <- err
				return
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO events (event_id, source, type, received_at) VALUES ($1, 's', 't', 0)`, fmt.Sprint(i)); err != nil {
				errs <- err
				_ = tx.Rollback()
				return
			}
			if i%3 == 0 {
				errs <- tx.Rollback()
				return
			}
			errs <- tx.Commit()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	c, err := s.CountEvents(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 40, c.Effects, "the 20 rolled-back inserts are gone, the 40 others committed")
	commits, txs := s.GroupCommits()
	t.Logf("%d transactions in %d group commits", txs, commits)
	assert.EqualValues(t, n, txs-before)
}

func TestAFailedStatementFailsItsWholeGroupCommit(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO events (event_id, source, type, received_at) VALUES ('a', 's', 't', 0)`)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
	require.Error(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO events (event_id, source, type, received_at) VALUES ('b', 's', 't', 0)`)
	require.Error(t, err, "statements after a failure are refused")
	require.Error(t, tx.Commit(), "the commit reports the failure")
	c, err := s.CountEvents(ctx)
	require.NoError(t, err)
	assert.Zero(t, c.Effects)
	tx, err = s.Begin(ctx)
	require.NoError(t, err, "the next transaction starts a fresh batch")
	_, err = tx.ExecContext(ctx, `INSERT INTO events (event_id, source, type, received_at) VALUES ('c', 's', 't', 0)`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
}

func TestStoreRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		engine idempotency.Engine
		dsn    string
	}{
		{"an empty path", idempotency.SQLite, ""},
		{"a path with options", idempotency.SQLite, "/tmp/x.db?mode=ro"},
		{"a URL that is not postgres://", idempotency.Postgres, "mysql://x"},
		{"an unknown engine", "oracle", "x"},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, err := idempotency.Open(ctx, tt.engine, tt.dsn)
			require.Error(t, err)
		})
	}
	t.Run("rejects a temporary postgres store without a URL", func(t *testing.T) {
		_, err := idempotency.OpenTemp(ctx, idempotency.Postgres, "")
		require.ErrorContains(t, err, idempotency.PostgresURLEnv)
	})
	t.Run("complete rejects a missing transaction or status", func(t *testing.T) {
		s := storetest.Open(t, idempotency.SQLite)
		require.Error(t, s.Complete(ctx, nil, "k", "l", dedupe.Response{Status: 200}))
		tx, err := s.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback()
		require.Error(t, s.Complete(ctx, tx, "k", "l", dedupe.Response{Status: 42}))
		require.Error(t, s.Complete(ctx, tx, "", "l", dedupe.Response{Status: 200}))
	})
	t.Run("the claim rejects bad requests", func(t *testing.T) {
		s := storetest.Open(t, idempotency.SQLite)
		for _, r := range []dedupe.Request{
			{Hash: "h", Lease: "l", Now: t0, TTL: time.Hour, LeaseFor: time.Second},
			{Key: "k", Lease: "l", Now: t0, TTL: time.Hour, LeaseFor: time.Second},
			{Key: "k", Hash: "h", Now: t0, TTL: time.Hour, LeaseFor: time.Second},
			{Key: "k", Hash: "h", Lease: "l", TTL: time.Hour, LeaseFor: time.Second},
			{Key: "k", Hash: "h", Lease: "l", Now: t0, LeaseFor: time.Second},
			{Key: "k", Hash: "h", Lease: "l", Now: t0, TTL: time.Hour},
			{Key: "k", Hash: "h", Lease: "l", Now: t0, TTL: time.Second, LeaseFor: time.Hour},
		} {
			_, err := solution.Claim(ctx, s.Querier(), r)
			require.Error(t, err, "%+v", r)
		}
		_, err := solution.Claim(ctx, nil, claimReq("k", "h", "l", t0))
		require.Error(t, err)
		_, err = solution.Sweep(ctx, s.Querier(), t0, 0)
		require.Error(t, err)
		_, err = solution.Sweep(ctx, nil, t0, 1)
		require.Error(t, err)
	})
	t.Run("the sweeper rejects a bad configuration", func(t *testing.T) {
		_, err := idempotency.NewSweeper(idempotency.SweeperConfig{})
		require.Error(t, err)
		s := storetest.Open(t, idempotency.SQLite)
		_, err = idempotency.NewSweeper(idempotency.SweeperConfig{Store: s, Batch: -1})
		require.Error(t, err)
	})
	t.Run("a failing sweep step is reported", func(t *testing.T) {
		s := storetest.Open(t, idempotency.SQLite)
		sw, err := idempotency.NewSweeper(idempotency.SweeperConfig{Store: s, Sweep: func(context.Context, dedupe.Querier, time.Time, int) (int64, error) {
			return 0, errors.New("boom")
		}})
		require.NoError(t, err)
		_, err = sw.SweepOnce(ctx)
		require.ErrorContains(t, err, "boom")
	})
}

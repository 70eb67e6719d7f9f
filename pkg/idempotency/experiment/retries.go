package experiment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// RetryReport summarises a burst of concurrent retries.
type RetryReport struct {
	Keys, RetriesPerKey int
	// Created counts final answers that were the first 201 of their key,
	// Replayed the ones replayed from the dedupe table.
	Created, Replayed int
	// Conflicts counts 409 answers met on the way (each was retried).
	Conflicts int
	// Disagreements counts keys whose retries got different receipts.
	Disagreements int
	Elapsed       time.Duration
	PerSecond     float64 // requests (not attempts) per second
}

// ConcurrentRetries fires retries requests for each of keys keys at the
// API at baseURL, from workers goroutines, the retries of one key back to
// back so that they overlap. Each request is a client that retries 409s
// until it gets a final answer.
func ConcurrentRetries(ctx context.Context, baseURL string, keys, retries, workers int) (RetryReport, error) {
	if keys < 1 || retries < 1 || workers < 1 {
		return RetryReport{}, fmt.Errorf("concurrent retries: keys (%d), retries (%d) and workers (%d) must be at least 1", keys, retries, workers)
	}
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: baseURL + "/events", MaxAttempts: 200,
		BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, AttemptTimeout: 30 * time.Second})
	if err != nil {
		return RetryReport{}, err
	}
	defer c.CloseIdle()
	rep := RetryReport{Keys: keys, RetriesPerKey: retries}
	bodies := make([][]string, keys)
	for k := range bodies {
		bodies[k] = make([]string, retries)
	}
	jobs := make(chan [2]int)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				k, r := j[0], j[1]
				id := fmt.Sprintf("burst-%05d", k)
				// Each retry is a separate request (the same key) with its own id
				// for the jitter.
				res, err := c.Post(ctx, fmt.Sprintf("%s/%d", id, r), "key-"+id, []byte(fmt.Sprintf(`{"id":%q,"source":"burst","type":"reading"}`, id)))
				mu.Lock()
				for _, a := range res.Attempts {
					if a.Status == 409 {
						rep.Conflicts++
					}
				}
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case res.Status != 201:
					if firstErr == nil {
						firstErr = fmt.Errorf("key %d: status %d: %s", k, res.Status, res.Body)
					}
				case res.Replayed:
					rep.Replayed++
				default:
					rep.Created++
				}
				bodies[k][r] = string(res.Body)
				mu.Unlock()
			}
		}()
	}
	for k := range keys {
		for r := range retries {
			select {
			case jobs <- [2]int{k, r}:
			case <-ctx.Done():
				close(jobs)
				wg.Wait()
				return rep, ctx.Err()
			}
		}
	}
	close(jobs)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	rep.PerSecond = float64(keys*retries) / rep.Elapsed.Seconds()
	if firstErr != nil {
		return rep, firstErr
	}
	for _, bs := range bodies {
		for _, b := range bs[1:] {
			if b != bs[0] {
				rep.Disagreements++
				break
			}
		}
	}
	return rep, nil
}

// BurstResult is [Burst]'s outcome: the retry report and how many effects
// each key had.
type BurstResult struct {
	RetryReport
	Env  string
	Mode idempotency.Mode
	// EffectsPerKey[n] is how many keys were stored n times.
	EffectsPerKey map[int]int
	Effects       int64
}

// Burst starts the API on env in the given mode and fires
// ConcurrentRetries at it.
func Burst(ctx context.Context, env Env, mode idempotency.Mode, steps Steps, keys, retries int) (BurstResult, error) {
	svc, err := start(ctx, env, &idempotency.Options{Mode: mode}, steps, 0)
	if err != nil {
		return BurstResult{}, err
	}
	defer svc.close()
	rep, err := ConcurrentRetries(ctx, svc.srv.URL, keys, retries, min(64, keys*retries))
	if err != nil {
		return BurstResult{}, err
	}
	per, err := svc.store.EffectsPerEvent(ctx)
	if err != nil {
		return BurstResult{}, err
	}
	out := BurstResult{RetryReport: rep, Env: env.String(), Mode: mode, EffectsPerKey: map[int]int{0: keys - len(per)}}
	for _, n := range per {
		out.EffectsPerKey[n]++
		out.Effects += int64(n)
	}
	return out, nil
}

// CheckThenInsert is a deliberately wrong claim, kept to be caught: it
// looks the key up, and when it finds no row, writes one with an upsert
// ("so that it never fails"). Two retries that look at the same time both
// find nothing, and both believe they hold the key.
func CheckThenInsert(ctx context.Context, db dedupe.Querier, req dedupe.Request) (dedupe.Claim, error) {
	if err := req.Validate(); err != nil {
		return dedupe.Claim{}, err
	}
	var hash string
	var status sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT request_hash, status_code FROM idempotency_keys WHERE idempotency_key = $1`, req.Key).Scan(&hash, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		now := dedupe.Micros(req.Now)
		_, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (idempotency_key, request_hash, created_at, expires_at, lease, locked_until)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (idempotency_key) DO UPDATE SET lease = excluded.lease, locked_until = excluded.locked_until`,
			req.Key, req.Hash, now, now+req.TTL.Microseconds(), req.Lease, now+req.LeaseFor.Microseconds())
		if err != nil {
			return dedupe.Claim{}, err
		}
		return dedupe.Claim{Outcome: dedupe.Claimed}, nil
	case err != nil:
		return dedupe.Claim{}, err
	case hash != req.Hash:
		return dedupe.Claim{Outcome: dedupe.Mismatch}, nil
	case status.Valid:
		return dedupe.Claim{Outcome: dedupe.Replayed}, nil
	}
	return dedupe.Claim{Outcome: dedupe.InFlight}, nil
}

// SlowQuerier adds a delay after every statement, as a network hop to a
// remote database would. It widens the window between a check and an
// insert, so that races show up in a few tries instead of a few thousand.
type SlowQuerier struct {
	Q     dedupe.Querier // the real connection
	Delay time.Duration  // the pause after each statement
}

// ExecContext runs the statement, then waits.
func (s SlowQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := s.Q.ExecContext(ctx, query, args...)
	time.Sleep(s.Delay)
	return r, err
}

// QueryRowContext runs the query, then waits.
func (s SlowQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	r := s.Q.QueryRowContext(ctx, query, args...)
	time.Sleep(s.Delay)
	return r
}

// ClaimRace is [RaceClaims]'s outcome.
type ClaimRace struct {
	Keys, Racers int
	// ClaimsPerKey[n] is how many keys were claimed by n racers at once
	// (n = 1 is right; n > 1 means n requests would process the key).
	ClaimsPerKey map[int]int
	// Errors counts claims that failed with an error.
	Errors int
}

// RaceClaims makes racers goroutines claim each of keys keys at the same
// moment, through a querier that adds delay after each statement, and
// counts how many claimed each key. The claim is a panic-safe call of
// claim: a panic counts as an error.
func RaceClaims(ctx context.Context, env Env, claim dedupe.ClaimFunc, keys, racers int, delay time.Duration) (ClaimRace, error) {
	if claim == nil || keys < 1 || racers < 1 || delay < 0 {
		return ClaimRace{}, fmt.Errorf("race claims: need a claim function, keys (%d) and racers (%d) >= 1, delay (%v) >= 0", keys, racers, delay)
	}
	st, err := env.open(ctx)
	if err != nil {
		return ClaimRace{}, err
	}
	defer st.Close()
	q := SlowQuerier{Q: st.Querier(), Delay: delay}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := ClaimRace{Keys: keys, Racers: racers, ClaimsPerKey: map[int]int{}}
	for k := range keys {
		var wg sync.WaitGroup
		var mu sync.Mutex
		gate := make(chan struct{})
		claims := 0
		for r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				c, err := safeClaim(ctx, claim, q, dedupe.Request{Key: fmt.Sprint("race-", k), Hash: "same request", Lease: fmt.Sprint(k, "/", r),
					Now: now, TTL: time.Hour, LeaseFor: time.Minute})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					out.Errors++
				} else if c.Outcome == dedupe.Claimed {
					claims++
				}
			}()
		}
		close(gate)
		wg.Wait()
		out.ClaimsPerKey[claims]++
	}
	return out, nil
}

func safeClaim(ctx context.Context, claim dedupe.ClaimFunc, q dedupe.Querier, req dedupe.Request) (c dedupe.Claim, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("claim panicked: %v", v)
		}
	}()
	return claim(ctx, q, req)
}

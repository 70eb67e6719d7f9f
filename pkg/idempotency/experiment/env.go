// Package experiment runs the experiments of notebooks/03-idempotency.ipynb
// against the real ingestion API of pkg/idempotency, on SQLite or
// PostgreSQL: why retries duplicate, a retry storm as the loss rate grows,
// concurrent retries of one key, what the dedupe table costs, how much it
// stores for a given TTL, and a server restart in the middle of a storm.
//
// Every fault is drawn from a seed per request and attempt, never from
// timing, so the counts (effects, duplicates, losses) are the same on every
// run and every machine. Timings are measured on the machine at hand, and
// vary.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Env is where an experiment runs: a database engine, and for PostgreSQL
// its URL. Each run gets its own throwaway store.
type Env struct {
	Engine idempotency.Engine // SQLite or Postgres
	URL    string             // the PostgreSQL URL (unused for SQLite)
	Name   string             // with version and address, e.g. "PostgreSQL 15.18 at 127.0.0.1:15432"
}

// SQLite is the embedded engine, always available.
func SQLite() Env { return Env{Engine: idempotency.SQLite} }

// ErrNoPostgres says PostgreSQL is not configured.
var ErrNoPostgres = errors.New("PostgreSQL is not configured: start your own with make postgres and set the " +
	idempotency.PostgresURLEnv + " it prints (before make lab, or in a cell: %env " + idempotency.PostgresURLEnv +
	"=postgres://dsgym@127.0.0.1:15432/postgres?sslmode=disable, then run the cell again)")

// Postgres is the PostgreSQL server named by DSGYM_POSTGRES_URL (chosen by
// package engines, which checks that it answers within 5 s), or
// ErrNoPostgres when the variable is unset.
func Postgres() (Env, error) {
	db, err := engines.Postgres(context.Background())
	if err != nil {
		return Env{}, err
	}
	if !db.Real {
		return Env{}, ErrNoPostgres
	}
	return Env{Engine: idempotency.Postgres, URL: db.URL, Name: db.Name}, nil
}

// Envs returns SQLite, and PostgreSQL when configured.
func Envs() []Env {
	out := []Env{SQLite()}
	if pg, err := Postgres(); err == nil {
		out = append(out, pg)
	}
	return out
}

// String names the engine.
func (e Env) String() string {
	if e.Engine == idempotency.Postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

func (e Env) open(ctx context.Context) (*idempotency.Store, error) {
	switch e.Engine {
	case idempotency.SQLite, idempotency.Postgres:
		return idempotency.OpenTemp(ctx, e.Engine, e.URL)
	}
	return nil, fmt.Errorf("experiment: unknown engine %q", e.Engine)
}

// Steps are the pluggable steps: nil means the reference solution. The
// notebook passes the learner's versions (through drill.X.Pick).
type Steps struct {
	Claim dedupe.ClaimFunc // the claim-or-replay step
	Hash  dedupe.HashFunc  // the request fingerprint
	Sweep dedupe.SweepFunc // the TTL sweep
}

// service is a store and a server on it.
type service struct {
	store *idempotency.Store
	srv   *idempotency.Server
}

func (s *service) close() {
	if s.srv != nil {
		s.srv.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

func quiet(string, ...any) {}

// start opens a store and serves the API on it: with the middleware when
// opts is not nil.
func start(ctx context.Context, env Env, opts *idempotency.Options, steps Steps, work time.Duration) (*service, error) {
	st, err := env.open(ctx)
	if err != nil {
		return nil, err
	}
	svc := &service{store: st}
	cfg := idempotency.ServerConfig{Store: st, Work: work, SweepEvery: -1}
	if opts != nil {
		o := *opts
		if o.Claim == nil {
			o.Claim = steps.Claim
		}
		if o.Hash == nil {
			o.Hash = steps.Hash
		}
		if o.Logf == nil {
			o.Logf = quiet
		}
		cfg.Idempotency = &o
	}
	if svc.srv, err = idempotency.Start(cfg); err != nil {
		svc.close()
		return nil, err
	}
	return svc, nil
}

func newClient(url string, faults *idempotency.Faults, keys idempotency.KeyPolicy, seed uint64, maxAttempts int) (*idempotency.Client, error) {
	cfg := idempotency.ClientConfig{URL: url + "/events", MaxAttempts: maxAttempts, BaseBackoff: time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, AttemptTimeout: 5 * time.Second, Seed: seed, Keys: keys}
	if faults != nil {
		faults.Next = idempotency.NewTransport()
		cfg.Transport = faults
	}
	return idempotency.NewClient(cfg)
}

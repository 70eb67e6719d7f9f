// Package storetest runs tests against every database engine the
// idempotency store supports: SQLite always, PostgreSQL when
// DSGYM_POSTGRES_URL is set. Without it the PostgreSQL variant skips with a
// message saying how to enable it, except under CI=true, where it fails:
// CI must test both.
package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/dsgym/dsgym/pkg/idempotency"
)

// HowToEnable says how to run the PostgreSQL variants.
const HowToEnable = "set " + idempotency.PostgresURLEnv + " to a PostgreSQL URL to run it: make test starts a throwaway server, " +
	`or run eval "$(test/pg.sh start)" in the repository first`

// Engines are the engines, in the order the tests run them.
var Engines = []idempotency.Engine{idempotency.SQLite, idempotency.Postgres}

// Open returns a throwaway store on engine, closed (and deleted) when the
// test ends. For PostgreSQL without DSGYM_POSTGRES_URL it skips the test,
// or fails it under CI=true.
func Open(tb testing.TB, engine idempotency.Engine) *idempotency.Store {
	tb.Helper()
	url := ""
	if engine == idempotency.Postgres {
		url = os.Getenv(idempotency.PostgresURLEnv)
		if url == "" {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("CI=true: the PostgreSQL variant must run, but %s is not set", idempotency.PostgresURLEnv)
			}
			tb.Skipf("PostgreSQL variant skipped: %s", HowToEnable)
		}
	}
	s, err := idempotency.OpenTemp(context.Background(), engine, url)
	if err != nil {
		tb.Fatalf("open a %s store: %v", engine, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close the %s store: %v", engine, err)
		}
	})
	return s
}

// ForEach runs fn as a subtest per engine, with a fresh store.
func ForEach(t *testing.T, fn func(t *testing.T, s *idempotency.Store)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) {
			fn(t, Open(t, e))
		})
	}
}

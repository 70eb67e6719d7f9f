package idempotency

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"   // embedded, pure Go (modernc.org/sqlite), a file
	Postgres Engine = "postgres" // a PostgreSQL server, through pgx
)

// PostgresURLEnv is the environment variable holding a PostgreSQL URL, e.g.
// postgres://user@127.0.0.1:5432/db?sslmode=disable.
const PostgresURLEnv = "DSGYM_POSTGRES_URL"

// ErrLeaseLost is returned when storing a result for a key whose lease was
// taken over by another request (or whose row was deleted): the result must
// not be stored, and the work done under the lease must be rolled back.
var ErrLeaseLost = errors.New("the claim's lease was lost: another request took the key over")

// Store is the ingestion service's database: the dedupe table
// (idempotency_keys, see package dedupe) and the events table, on SQLite or
// PostgreSQL through one database/sql code path.
type Store struct {
	db     *sql.DB
	engine Engine
	// writeMu is SQLite's single writer slot, taken in turns by the members
	// of the current group commit (cur); waiting counts who waits for it.
	// Unused on PostgreSQL.
	writeMu sync.Mutex
	waiting atomic.Int32
	cur     *batch
	batches atomic.Int64 // group commits so far
	members atomic.Int64 // transactions in them
	stmts   sync.Map     // query -> *sql.Stmt (SQLite)
	cleanup func() error
	closed  sync.Once
}

// Open opens (creating it if needed) the store: for SQLite, dsn is a file
// path; for PostgreSQL, a connection URL. The tables are created if missing.
func Open(ctx context.Context, engine Engine, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, fmt.Errorf("open %s store: empty path or URL", engine)
	}
	var (
		db  *sql.DB
		err error
	)
	switch engine {
	case SQLite:
		if strings.ContainsAny(dsn, "?#") {
			return nil, fmt.Errorf("open sqlite store: %q: give a plain file path (the store sets its own options)", dsn)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable against a crash of the process; only an OS crash
		// or power loss can lose the last commits (see the notebook).
		q.Add("_pragma", "synchronous(NORMAL)")
		// Checkpoint the WAL less often than every 1000 pages: the hot pages
		// of an append-heavy table are then copied back once, not many times.
		q.Add("_pragma", "wal_autocheckpoint(8000)")
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Set("_txlock", "immediate")
		db, err = sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if err == nil {
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
		}
	case Postgres:
		if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			return nil, fmt.Errorf("open postgres store: %q is not a postgres:// URL", redact(dsn))
		}
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(24)
			db.SetMaxIdleConns(24)
		}
	default:
		return nil, fmt.Errorf("open store: unknown engine %q (want %q or %q)", engine, SQLite, Postgres)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", engine, err)
	}
	s := &Store{db: db, engine: engine}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s store: %w", engine, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenTemp opens a throwaway store that Close deletes: for SQLite, a file in
// a new temporary directory; for PostgreSQL, a new schema in the database at
// url (which Close drops), so that concurrent tests and experiments never
// see each other's rows. url is ignored for SQLite.
func OpenTemp(ctx context.Context, engine Engine, url string) (*Store, error) {
	switch engine {
	case SQLite:
		dir, err := os.MkdirTemp("", "dsgym-idempotency-")
		if err != nil {
			return nil, fmt.Errorf("open temporary sqlite store: %w", err)
		}
		s, err := Open(ctx, SQLite, filepath.Join(dir, "ingest.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.cleanup = func() error { return os.RemoveAll(dir) }
		return s, nil
	case Postgres:
		if url == "" {
			return nil, fmt.Errorf("open temporary postgres store: no URL (set %s)", PostgresURLEnv)
		}
		admin, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open temporary postgres store: %w", err)
		}
		schema := "dsgym_idem_" + randomHex(6)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close()
			return nil, fmt.Errorf("open temporary postgres store at %s: %w", redact(url), err)
		}
		drop := func() error {
			defer admin.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			return err
		}
		s, err := Open(ctx, Postgres, withParam(url, "search_path", schema))
		if err != nil {
			drop()
			return nil, err
		}
		s.cleanup = drop
		return s, nil
	}
	return nil, fmt.Errorf("open temporary store: unknown engine %q (want %q or %q)", engine, SQLite, Postgres)
}

func withParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact hides a password in a connection URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close closes the store (and deletes it when it came from [OpenTemp]).
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.closed.Do(func() {
		s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
		err = s.db.Close()
		if s.cleanup != nil {
			if cerr := s.cleanup(); err == nil {
				err = cerr
			}
		}
	})
	return err
}

// GroupCommits returns how many group commits SQLite ran and how many
// transactions they held (both 0 on PostgreSQL).
func (s *Store) GroupCommits() (commits, transactions int64) {
	if s == nil {
		return 0, 0
	}
	return s.batches.Load(), s.members.Load()
}

// errNoStore is returned by the methods of a nil *Store.
var errNoStore = errors.New("no store (nil *Store)")

// DB is the store's connection pool.
func (s *Store) DB() *sql.DB {
	if s == nil {
		return nil
	}
	return s.db
}

// Engine is the store's engine.
func (s *Store) Engine() Engine {
	if s == nil {
		return ""
	}
	return s.engine
}

func (s *Store) migrate(ctx context.Context) error {
	// On SQLite the dedupe table is clustered on its key (WITHOUT ROWID):
	// one B-tree fewer to write per claim.
	blob, serial, clustered := "BLOB", "INTEGER PRIMARY KEY", " WITHOUT ROWID"
	if s.engine == Postgres {
		blob, serial, clustered = "BYTEA", "BIGSERIAL PRIMARY KEY", ""
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + dedupe.Table + ` (
			idempotency_key  TEXT PRIMARY KEY,
			request_hash     TEXT NOT NULL,
			created_at       BIGINT NOT NULL,
			expires_at       BIGINT NOT NULL,
			lease            TEXT,
			locked_until     BIGINT,
			status_code      INTEGER,
			content_type     TEXT,
			response_body    ` + blob + `,
			result_reference TEXT,
			recovery_point   TEXT,
			recovery_data    ` + blob + `)` + clustered,
		`CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at ON ` + dedupe.Table + ` (expires_at)`,
		`CREATE TABLE IF NOT EXISTS events (
			seq         ` + serial + `,
			event_id    TEXT NOT NULL,
			source      TEXT NOT NULL,
			type        TEXT NOT NULL,
			data        TEXT,
			received_at BIGINT NOT NULL)`,
	}
	for _, q := range stmts {
		if err := s.exec(ctx, q); err != nil {
			return fmt.Errorf("create the %s tables: %w", s.engine, err)
		}
	}
	return s.addRecoveryColumns(ctx, blob)
}

func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.Querier().ExecContext(ctx, q, args...)
	return err
}

// Querier is what the dedupe steps (claim, sweep) should run on. Reads go
// to the pool; on SQLite, each write runs as its own short transaction in
// the store's group commit (see [Store.Begin]).
func (s *Store) Querier() dedupe.Querier {
	if s == nil {
		return nil
	}
	if s.engine == SQLite {
		return sqliteQuerier{s}
	}
	return s.db
}

// prepared returns the cached prepared statement for query (SQLite only:
// preparing costs as much as running a short statement there; pgx caches
// its statements by itself).
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

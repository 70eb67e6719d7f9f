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
			result_reference TEXT)` + clustered,
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
	return nil
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

type sqliteQuerier struct{ s *Store }

func (q sqliteQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := q.s.Begin(ctx)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	// Read the result before the commit: the driver's result is final.
	n, nerr := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return rowsResult{n, nerr}, nil
}

func (q sqliteQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.s.prepared(ctx, query)
	if err != nil {
		// Let database/sql report the error through the Row.
		return q.s.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// rowsResult is a sql.Result read before its transaction committed.
type rowsResult struct {
	n   int64
	err error
}

func (r rowsResult) LastInsertId() (int64, error) {
	return 0, errors.New("LastInsertId is not kept; use RETURNING")
}
func (r rowsResult) RowsAffected() (int64, error) { return r.n, r.err }

// Tx is a write transaction on the store.
//
// On SQLite, which has one writer at a time, transactions take turns and
// share commits (group commit): each runs inside a savepoint of a batch
// transaction, and the last member of a batch commits it for all. Commit
// returns once the batch is durable; under load one commit (and one set of
// WAL writes) serves many requests. A failed statement fails its whole
// batch, so that no member's answer can rest on writes that did not
// commit.
type Tx struct {
	s     *Store
	tx    *sql.Tx
	b     *batch // SQLite
	first bool   // the batch's first member (no savepoint)
	ended bool
}

// batch is a group commit in progress.
type batch struct {
	tx      *sql.Tx
	members int
	failed  error // set by a failed statement: the batch will roll back
	done    chan struct{}
	err     error // the batch's outcome, once done is closed
}

// maxBatch bounds a batch's members, and so the latency a member adds to
// the ones before it.
const maxBatch = 64

// Begin starts a write transaction.
func (s *Store) Begin(ctx context.Context) (*Tx, error) {
	if s == nil {
		return nil, errNoStore
	}
	if s.engine != SQLite {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		return &Tx{s: s, tx: tx}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	s.waiting.Add(1)
	s.writeMu.Lock()
	s.waiting.Add(-1)
	if s.cur == nil {
		// No context: a batch outlives the request that opens it.
		tx, err := s.db.BeginTx(context.Background(), nil)
		if err != nil {
			s.writeMu.Unlock()
			return nil, fmt.Errorf("begin: %w", err)
		}
		s.cur = &batch{tx: tx, done: make(chan struct{})}
	}
	b := s.cur
	b.members++
	t := &Tx{s: s, tx: b.tx, b: b, first: b.members == 1}
	if b.failed != nil {
		return t, nil // its statements fail at once; Commit reports the error
	}
	// The first member needs no savepoint: nobody has written in the batch
	// before it, so its rollback can roll back the whole transaction.
	if !t.first {
		if _, err := t.exec("SAVEPOINT member"); err != nil {
			b.failed = err
		}
	}
	return t, nil
}

// exec runs a statement of a SQLite batch member.
func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.s.prepared(context.Background(), query)
	if err != nil {
		return nil, err
	}
	return t.tx.Stmt(st).Exec(args...)
}

var errTxEnded = errors.New("the transaction has ended")

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t == nil {
		return nil, errors.New("exec: no transaction")
	}
	if t.ended {
		return nil, errTxEnded
	}
	if t.b == nil {
		return t.tx.ExecContext(ctx, query, args...)
	}
	if err := t.memberCheck(ctx); err != nil {
		return nil, err
	}
	// Statements run without the request's context: interrupting one would
	// roll back the whole batch, other requests' work included.
	res, err := t.exec(query, args...)
	if err != nil {
		t.b.failed = err
	}
	return res, err
}

// QueryRowContext runs a query returning one row in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.ended {
		return errRow(t.tx, errTxEnded)
	}
	if t.b == nil {
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	if err := t.memberCheck(ctx); err != nil {
		return errRow(t.tx, err)
	}
	st, err := t.s.prepared(context.Background(), query)
	if err != nil {
		return errRow(t.tx, err)
	}
	return t.tx.Stmt(st).QueryRow(args...)
}

// errRow returns a *sql.Row whose Scan reports err, without touching the
// database: database/sql checks the context before it runs a query, and
// this context is already done, with err as its error.
func errRow(tx *sql.Tx, err error) *sql.Row {
	return tx.QueryRowContext(doneContext{err}, "SELECT 1")
}

type doneContext struct{ err error }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (doneContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (doneContext) Done() <-chan struct{}       { return closedChan }
func (c doneContext) Err() error                { return c.err }
func (doneContext) Value(any) any               { return nil }

func (t *Tx) memberCheck(ctx context.Context) error {
	if t.b.failed != nil {
		return fmt.Errorf("an earlier statement of this group commit failed: %w", t.b.failed)
	}
	return ctx.Err()
}

// Commit commits the transaction. On SQLite it returns once the batch
// holding it has committed (or failed).
func (t *Tx) Commit() error {
	if t == nil {
		return errors.New("commit: no transaction")
	}
	if t.ended {
		return errTxEnded
	}
	t.ended = true
	if t.b == nil {
		return t.tx.Commit()
	}
	b := t.b
	if b.failed == nil && !t.first {
		if _, err := t.exec("RELEASE SAVEPOINT member"); err != nil {
			b.failed = err
		}
	}
	t.s.leave(b)
	<-b.done
	return b.err
}

// Rollback aborts the transaction; calling it after Commit does nothing.
// On SQLite it undoes this member's writes only, then waits for its batch
// and returns the batch's error: reads made in the transaction rest on the
// other members' writes, valid only if they committed.
func (t *Tx) Rollback() error {
	if t == nil || t.ended {
		return nil
	}
	t.ended = true
	if t.b == nil {
		return t.tx.Rollback()
	}
	b := t.b
	if t.first {
		// Nobody else has written in the batch yet: roll it all back and
		// let the next writer start a new one.
		t.s.cur = nil
		t.s.batches.Add(1)
		t.s.members.Add(int64(b.members))
		_ = b.tx.Rollback()
		b.err = b.failed
		close(b.done)
		t.s.writeMu.Unlock()
		return b.err
	}
	if b.failed == nil {
		if _, err := t.exec("ROLLBACK TO SAVEPOINT member"); err != nil {
			b.failed = err
		} else if _, err := t.exec("RELEASE SAVEPOINT member"); err != nil {
			b.failed = err
		}
	}
	t.s.leave(b)
	<-b.done
	return b.err
}

// leave ends a member's turn: it commits the batch when nobody is waiting
// to join it (or it is full), else passes the turn on.
func (s *Store) leave(b *batch) {
	if s.waiting.Load() > 0 && b.members < maxBatch && b.failed == nil {
		s.writeMu.Unlock()
		return
	}
	s.cur = nil
	s.batches.Add(1)
	s.members.Add(int64(b.members))
	if b.failed != nil {
		_ = b.tx.Rollback()
		b.err = fmt.Errorf("group commit rolled back: %w", b.failed)
	} else if err := b.tx.Commit(); err != nil {
		b.err = fmt.Errorf("group commit: %w", err)
	}
	close(b.done)
	s.writeMu.Unlock()
}

// Complete stores resp as the result of key, in tx, if the row still holds
// lease; otherwise it returns [ErrLeaseLost] and the caller must roll tx
// back. Committing tx then makes the side effects done in tx and the stored
// response visible together, or neither.
func (s *Store) Complete(ctx context.Context, tx *Tx, key, lease string, resp dedupe.Response) error {
	if s == nil {
		return errNoStore
	}
	if tx == nil {
		return errors.New("complete: no transaction")
	}
	if key == "" || lease == "" {
		return errors.New("complete: empty key or lease")
	}
	if resp.Status < 100 || resp.Status > 599 {
		return fmt.Errorf("complete: status %d is not an HTTP status", resp.Status)
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res, err := tx.ExecContext(ctx, `UPDATE `+dedupe.Table+`
		SET status_code = $3, content_type = $4, response_body = $5, result_reference = $6, lease = NULL, locked_until = NULL
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`,
		key, lease, resp.Status, resp.ContentType, body, resp.Reference)
	if err != nil {
		return fmt.Errorf("complete %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("complete %q: %w", key, err)
	}
	if n != 1 {
		return fmt.Errorf("complete %q: %w", key, ErrLeaseLost)
	}
	return nil
}

// Release deletes an in-flight claim that key still holds under lease, so
// that a retry can process the request afresh (its processing failed before
// producing a result). Releasing a lost lease does nothing.
func (s *Store) Release(ctx context.Context, key, lease string) error {
	if s == nil {
		return errNoStore
	}
	if key == "" || lease == "" {
		return errors.New("release: empty key or lease")
	}
	_, err := s.Querier().ExecContext(ctx, `DELETE FROM `+dedupe.Table+`
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`, key, lease)
	if err != nil {
		return fmt.Errorf("release %q: %w", key, err)
	}
	return nil
}

// Entry is one row of the dedupe table, as read back for tests and
// notebooks.
type Entry struct {
	Key         string           // idempotency_key
	Hash        string           // request_hash
	CreatedAt   time.Time        // created_at
	ExpiresAt   time.Time        // expires_at
	Lease       string           // lease; empty once completed
	LockedUntil time.Time        // locked_until; zero once completed
	Response    *dedupe.Response // the stored response; nil while in flight
}

// InFlight reports whether the entry has no stored response yet.
func (e Entry) InFlight() bool { return e.Response == nil }

// Lookup reads key's row.
func (s *Store) Lookup(ctx context.Context, key string) (Entry, bool, error) {
	if s == nil {
		return Entry{}, false, errNoStore
	}
	var (
		e                Entry
		created, expires int64
		lease, ct, ref   sql.NullString
		locked, status   sql.NullInt64
		body             []byte
	)
	err := s.Querier().QueryRowContext(ctx, `SELECT idempotency_key, request_hash, created_at, expires_at, lease, locked_until,
		status_code, content_type, response_body, result_reference FROM `+dedupe.Table+` WHERE idempotency_key = $1`, key).
		Scan(&e.Key, &e.Hash, &created, &expires, &lease, &locked, &status, &ct, &body, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("lookup %q: %w", key, err)
	}
	e.CreatedAt, e.ExpiresAt = time.UnixMicro(created), time.UnixMicro(expires)
	e.Lease = lease.String
	if locked.Valid {
		e.LockedUntil = time.UnixMicro(locked.Int64)
	}
	if status.Valid {
		e.Response = &dedupe.Response{Status: int(status.Int64), ContentType: ct.String, Body: body, Reference: ref.String}
	}
	return e, true, nil
}

// TableStats describes the dedupe table.
type TableStats struct {
	Rows      int64 // all rows
	InFlight  int64 // rows without a stored response
	DataBytes int64 // bytes of keys, hashes and stored responses (not the index or page overhead)
}

// Stats counts the dedupe table's rows and the bytes they hold.
func (s *Store) Stats(ctx context.Context) (TableStats, error) {
	if s == nil {
		return TableStats{}, errNoStore
	}
	var st TableStats
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status_code IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(LENGTH(idempotency_key) + LENGTH(request_hash) + COALESCE(LENGTH(response_body), 0)
			+ COALESCE(LENGTH(content_type), 0) + COALESCE(LENGTH(result_reference), 0) + COALESCE(LENGTH(lease), 0) + 32), 0)
		FROM `+dedupe.Table).Scan(&st.Rows, &st.InFlight, &st.DataBytes)
	if err != nil {
		return TableStats{}, fmt.Errorf("dedupe table stats: %w", err)
	}
	return st, nil
}

// EventCounts counts the events table: every row is one effect.
type EventCounts struct {
	Effects  int64 // rows
	Distinct int64 // distinct producer event ids
}

// Duplicates is the number of effects beyond the first per event id.
func (c EventCounts) Duplicates() int64 { return c.Effects - c.Distinct }

// CountEvents counts the events stored.
func (s *Store) CountEvents(ctx context.Context) (EventCounts, error) {
	if s == nil {
		return EventCounts{}, errNoStore
	}
	var c EventCounts
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events`).Scan(&c.Effects, &c.Distinct)
	if err != nil {
		return EventCounts{}, fmt.Errorf("count events: %w", err)
	}
	return c, nil
}

// EffectsPerEvent returns how many rows each producer event id has.
func (s *Store) EffectsPerEvent(ctx context.Context) (map[string]int, error) {
	if s == nil {
		return nil, errNoStore
	}
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, COUNT(*) FROM events GROUP BY event_id`)
	if err != nil {
		return nil, fmt.Errorf("effects per event: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("effects per event: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

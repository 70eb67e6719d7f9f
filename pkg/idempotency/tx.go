package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

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

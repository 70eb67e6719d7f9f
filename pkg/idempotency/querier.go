package idempotency

import (
	"context"
	"database/sql"
	"errors"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

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

package engines

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DatabaseEngine is the SQL database a chapter uses: SQLite in process
// (Real false), or PostgreSQL. Both go through database/sql with the
// driver named here.
type DatabaseEngine struct {
	Name   string // "SQLite, in process" or "PostgreSQL 15.14 at 127.0.0.1:15432"
	Driver string // "sqlite" (modernc.org/sqlite) or "pgx" (pgx/v5/stdlib)
	URL    string // the PostgreSQL URL, empty for SQLite
	Real   bool
}

// Postgres returns the PostgreSQL named by DSGYM_POSTGRES_URL, checked to
// accept a connection within ReachTimeout, or SQLite.
func Postgres(ctx context.Context) (*DatabaseEngine, error) {
	url := strings.TrimSpace(os.Getenv(PostgresURLEnv))
	if url == "" {
		return &DatabaseEngine{Name: "SQLite, in process", Driver: "sqlite"}, nil
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PostgreSQL URL: %v", PostgresURLEnv, err)
	}
	addr := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &NotReachableError{Engine: "PostgreSQL", Addr: addr, Var: PostgresURLEnv, Target: "postgres", Err: err}
	}
	defer conn.Close(ctx)
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return nil, err
	}
	version, _, _ = strings.Cut(version, " ")
	return &DatabaseEngine{Name: "PostgreSQL " + version + " at " + addr, Driver: "pgx", URL: url, Real: true}, nil
}

// String returns Name.
func (d *DatabaseEngine) String() string { return d.Name }

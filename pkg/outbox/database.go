package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// Database is one pipeline's own tables: a new SQLite file, or a new
// schema in PostgreSQL, so that runs never see each other's rows. Every
// component opens its own connections (Open), as separate processes
// would, so that a crash can abandon them.
type Database struct {
	Engine *engines.DatabaseEngine
	// Schema is the PostgreSQL schema holding the tables (empty for SQLite).
	Schema string
	dsn    string
	admin  *sql.DB
	drop   func() error
}

// Postgres reports whether the database is PostgreSQL.
func (d *Database) Postgres() bool { return d.Engine.Real }

// NewDatabase creates a fresh database on engine with the pipeline's
// tables and customers reference rows ("c00", "c01"...; regions
// round-robin over eu, us, ap).
func NewDatabase(ctx context.Context, engine *engines.DatabaseEngine, customers int) (*Database, error) {
	if customers < 1 || customers > 10_000 {
		return nil, fmt.Errorf("outbox: between 1 and 10000 customers, not %d", customers)
	}
	d := &Database{Engine: engine}
	schema := sqliteSchema
	if engine.Real {
		admin, err := sql.Open("pgx", engine.URL)
		if err != nil {
			return nil, err
		}
		d.Schema = "dsgym_outbox_" + randomHex(5)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+d.Schema); err != nil {
			admin.Close()
			return nil, fmt.Errorf("outbox: create schema on %s: %w", engine.Name, err)
		}
		d.dsn = withParam(engine.URL, "search_path", d.Schema)
		d.drop = func() error {
			defer admin.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := admin.ExecContext(ctx, "DROP SCHEMA "+d.Schema+" CASCADE")
			return err
		}
		schema = postgresSchema
	} else {
		dir, err := os.MkdirTemp("", "dsgym-outbox-")
		if err != nil {
			return nil, err
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		d.dsn = "file:" + filepath.Join(dir, "pipeline.db") + "?" + q.Encode()
		d.drop = func() error { return os.RemoveAll(dir) }
	}
	db, err := d.Open()
	if err != nil {
		d.Close()
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		d.Close()
		return nil, fmt.Errorf("outbox: create tables: %w", err)
	}
	regions := []string{"eu", "us", "ap"}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		d.Close()
		return nil, err
	}
	for i := range customers {
		if _, err := tx.ExecContext(ctx, "INSERT INTO customers (id, name, region) VALUES ($1, $2, $3)",
			CustomerID(i), fmt.Sprintf("Customer %d", i), regions[i%len(regions)]); err != nil {
			tx.Rollback()
			d.Close()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// CustomerID is the id of the i-th customer.
func CustomerID(i int) string { return fmt.Sprintf("c%02d", i) }

// Open opens a new connection pool to the database.
func (d *Database) Open() (*sql.DB, error) {
	driver := "sqlite"
	if d.Engine.Real {
		driver = "pgx"
	}
	db, err := sql.Open(driver, d.dsn)
	if err != nil {
		return nil, err
	}
	if !d.Engine.Real {
		db.SetMaxOpenConns(1) // one writer at a time; the busy timeout queues the rest
	}
	return db, nil
}

// Table is name as the replication stream and publications name it.
func (d *Database) Table(name string) string {
	if d.Schema == "" {
		return name
	}
	return d.Schema + "." + name
}

// Close deletes the database.
func (d *Database) Close() error {
	if d.drop == nil {
		return nil
	}
	err := d.drop()
	d.drop = nil
	return err
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

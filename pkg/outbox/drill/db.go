// Package drill defines the exercises of notebooks/09-end-to-end-exactly-once:
// the ingest's write of inbox, business and outbox rows in one
// transaction (outbox/write), the downstream's idempotent apply
// (outbox/apply) and the log-based relay's confirm position
// (outbox/confirm). Each check states one property on a crafted input;
// the last of the first two runs the whole pipeline on kfake and SQLite
// under the crash that exposes a wrong version, and the confirm check
// replays seeded relays that crash.
package drill

import (
	"context"
	"database/sql"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/outbox"
)

const notebook = "09-end-to-end-exactly-once.ipynb"

// fresh opens a new SQLite pipeline database with 4 customers (c00 eu,
// c01 us, c02 ap, c03 eu).
func fresh(t exercise.T) (*outbox.Database, *sql.DB, bool) {
	t.Helper()
	d, err := outbox.NewDatabase(context.Background(), &engines.DatabaseEngine{Name: "SQLite, in process", Driver: "sqlite"}, 4)
	if err != nil {
		t.Errorf("could not create the pipeline's database: %v", err)
		return nil, nil, false
	}
	db, err := d.Open()
	if err != nil {
		d.Close()
		t.Errorf("could not open the pipeline's database: %v", err)
		return nil, nil, false
	}
	return d, db, true
}

// inTx runs f in a transaction of its own and commits it.
func inTx(db *sql.DB, f func(ctx context.Context, tx *sql.Tx) error) error {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// count returns the rows of table (a constant of this package).
func count(db *sql.DB, table string) int {
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		return -1
	}
	return n
}

// pipeline runs the whole pipeline on kfake and SQLite with cfg and
// fails t unless every invariant held.
func pipeline(t exercise.T, cfg outbox.Config) {
	t.Helper()
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		t.Errorf("kfake did not start: %v", err)
		return
	}
	defer k.Close()
	res, err := outbox.Run(context.Background(), k, &engines.DatabaseEngine{Name: "SQLite, in process", Driver: "sqlite"}, cfg)
	if err != nil {
		t.Errorf("the pipeline failed (crash %v, seed %d): %v", &cfg.Crash, cfg.Seed, err)
		return
	}
	if !res.Report.OK() {
		t.Errorf("crash %v, seed %d: %v", &cfg.Crash, cfg.Seed, res.Report)
	}
}

package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"time"
)

// The third purge strategy: an outbox partitioned by day. Deleting
// published rows one by one leaves dead tuples for VACUUM and, on a busy
// table, bloat; dropping a whole day's partition is one catalog change
// that frees its files at once. The price: the primary key must include
// the partition key (created_at), so the event id's uniqueness is per day
// unless enforced elsewhere, and a log-based relay on a partitioned table
// needs its publication created WITH (publish_via_partition_root = true)
// (PostgreSQL 13 and later) so that changes arrive under the parent's
// name.

// PartitionedOutboxSQL declares a day-partitioned outbox named table
// (same columns as OutboxSQL). Partitions are created by
// EnsureDayPartitions.
func PartitionedOutboxSQL(table string) (string, error) {
	if !identRE.MatchString(table) {
		return "", fmt.Errorf("outbox: %q is not a plain table name ([a-z_][a-z0-9_]{0,40})", table)
	}
	return fmt.Sprintf(`CREATE TABLE %[1]s (
  seq           BIGSERIAL,
  id            TEXT        NOT NULL,
  aggregatetype TEXT        NOT NULL,
  aggregateid   TEXT        NOT NULL,
  type          TEXT        NOT NULL,
  payload       JSONB       NOT NULL,
  trace_id      TEXT        NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at  TIMESTAMPTZ,
  PRIMARY KEY (created_at, seq)
) PARTITION BY RANGE (created_at)`, table), nil
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// dayName is the partition of table for the UTC day of t.
func dayName(table string, t time.Time) string {
	return fmt.Sprintf("%s_%s", table, t.UTC().Format("20060102"))
}

// EnsureDayPartitions creates the partitions of table for days UTC days
// from the day of from (existing ones are kept). Create tomorrow's before
// midnight: an insert with no partition for its created_at fails.
func EnsureDayPartitions(ctx context.Context, db *sql.DB, table string, from time.Time, days int) error {
	if !identRE.MatchString(table) || days < 1 || days > 366 {
		return fmt.Errorf("outbox: EnsureDayPartitions needs a plain table name and 1-366 days (got %q, %d)", table, days)
	}
	day := from.UTC().Truncate(24 * time.Hour)
	for i := 0; i < days; i++ {
		lo, hi := day.AddDate(0, 0, i), day.AddDate(0, 0, i+1)
		// Names are built from a checked identifier and a date; bounds are
		// formatted timestamps: DDL takes no parameters.
		stmt := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF %s FOR VALUES FROM ('%s') TO ('%s')",
			dayName(table, lo), table, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("outbox: creating the partition for %s: %w", lo.Format("2006-01-02"), err)
		}
	}
	return nil
}

// UnpublishedError is DropDaysBefore's refusal: a day still holds rows
// the relay has not published.
type UnpublishedError struct {
	Partition   string
	Unpublished int64
}

func (e *UnpublishedError) Error() string {
	return fmt.Sprintf("outbox: partition %s still holds %d unpublished rows: nothing was dropped from it (publish them first, or the events are lost)", e.Partition, e.Unpublished)
}

// DropDaysBefore drops table's day partitions that end at or before
// cutoff, oldest first, and returns their names. It refuses, with an
// *UnpublishedError and without dropping it or anything after it, a
// partition that still holds a row with no published_at: the polling
// relay marks what it published. (A log-based relay does not mark rows:
// there, drop a day only once the slot's confirmed position is past the
// day's last commit.)
func DropDaysBefore(ctx context.Context, db *sql.DB, table string, cutoff time.Time) ([]string, error) {
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("outbox: %q is not a plain table name", table)
	}
	rows, err := db.QueryContext(ctx, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("outbox: listing the partitions of %s: %w", table, err)
	}
	type part struct {
		name string
		hi   time.Time
	}
	var parts []part
	boundRE := regexp.MustCompile(`TO \('([^']+)'\)`)
	for rows.Next() {
		var name, bound string
		if err := rows.Scan(&name, &bound); err != nil {
			rows.Close()
			return nil, err
		}
		m := boundRE.FindStringSubmatch(bound)
		if m == nil {
			continue
		}
		hi, err := time.Parse("2006-01-02 15:04:05-07", m[1])
		if err != nil {
			continue
		}
		parts = append(parts, part{name, hi})
	}
	rows.Close()
	var dropped []string
	for _, p := range parts {
		if p.hi.After(cutoff) {
			continue
		}
		var n int64
		// p.name comes from the catalog and is a partition of a checked
		// name; quoted as an identifier all the same.
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FROM %q WHERE published_at IS NULL`, p.name)).Scan(&n); err != nil {
			return dropped, err
		}
		if n > 0 {
			return dropped, &UnpublishedError{Partition: p.name, Unpublished: n}
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP TABLE %q`, p.name)); err != nil {
			return dropped, fmt.Errorf("outbox: dropping %s: %w", p.name, err)
		}
		dropped = append(dropped, p.name)
	}
	return dropped, nil
}

package step

import (
	"context"
	"database/sql"
)

// Schema is the idempotent sink's two tables. The output rows have their
// natural unique key (key, seq), so that writing a row twice can be a
// no-op; offsets holds, per input topic and partition, the next offset to
// consume. Statements use ? placeholders (SQLite).
const Schema = `
CREATE TABLE IF NOT EXISTS output (
  key   TEXT    NOT NULL,
  seq   INTEGER NOT NULL,
  value TEXT    NOT NULL,
  PRIMARY KEY (key, seq)
);
CREATE TABLE IF NOT EXISTS offsets (
  topic     TEXT    NOT NULL,
  partition INTEGER NOT NULL,
  next      INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
);`

// Row is one output row of the sink.
type Row struct {
	Key   string
	Seq   int
	Value string
}

// WriteFunc writes one batch inside tx, which the pipeline opened and will
// commit: the rows into output, and next (per partition of topic, the
// offset after the batch's last record) into offsets.
type WriteFunc func(ctx context.Context, tx *sql.Tx, topic string, rows []Row, next map[int32]int64) error

// ResumeFunc reads, on restart, the next offset to consume per partition
// of topic from the database (no entry: start of the partition).
type ResumeFunc func(ctx context.Context, db *sql.DB, topic string) (map[int32]int64, error)

// Sink is the idempotent sink's two functions.
type Sink struct {
	Write  WriteFunc
	Resume ResumeFunc
}

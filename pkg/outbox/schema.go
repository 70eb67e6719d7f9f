package outbox

import "github.com/dsgym/dsgym/pkg/outbox/step"

// OutboxSQL is the outbox table as PostgreSQL declares it. It follows the
// shape Debezium's outbox event router expects (id, aggregatetype,
// aggregateid, type, payload jsonb; its table.field.event.* options
// default to these column names), plus a commit-independent sequence for
// the polling relay, the creation time for latency and purging, and a
// trace id carried to the output record's headers.
//
// The table is a queue: rows are inserted and, once published, deleted
// or marked; they are never updated otherwise (Debezium's router warns
// about updates, table.op.invalid.behavior=warn, and drops deletes).
const OutboxSQL = `
CREATE TABLE outbox (
  seq           BIGSERIAL PRIMARY KEY,
  id            TEXT        NOT NULL UNIQUE,      -- the event id, copied to the record's "id" header
  aggregatetype TEXT        NOT NULL,             -- routes to a topic (Debezium: route.by.field)
  aggregateid   TEXT        NOT NULL,             -- the record key: one aggregate, one partition
  type          TEXT        NOT NULL,             -- the event type
  payload       JSONB       NOT NULL,
  trace_id      TEXT        NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at  TIMESTAMPTZ                       -- set by the polling relay; unused by log-based CDC
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;`

// postgresSchema is every table of one pipeline on PostgreSQL.
const postgresSchema = OutboxSQL + `
CREATE TABLE customers (
  id     TEXT PRIMARY KEY,
  name   TEXT NOT NULL,
  region TEXT NOT NULL
);
CREATE TABLE orders (
  id          TEXT PRIMARY KEY,
  customer_id TEXT    NOT NULL REFERENCES customers (id),
  amount      BIGINT  NOT NULL,
  region      TEXT    NOT NULL,
  event_id    TEXT    NOT NULL,           -- the outbox event written with it
  applied     INTEGER NOT NULL DEFAULT 1  -- how many times the upsert ran: 1 when exactly once
);
CREATE TABLE inbox (
  topic      TEXT    NOT NULL,
  partition  INTEGER NOT NULL,
  "offset"   BIGINT  NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE rejected (
  topic      TEXT    NOT NULL,
  partition  INTEGER NOT NULL,
  "offset"   BIGINT  NOT NULL,
  reason     TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE downstream_inbox (
  event_id TEXT PRIMARY KEY
);
CREATE TABLE downstream_totals (
  customer_id TEXT   PRIMARY KEY,
  orders      BIGINT NOT NULL,
  amount      BIGINT NOT NULL,
  last_order  TEXT   NOT NULL
);
-- The downstream effect per event, in the order applied: the checker
-- reads per-aggregate order from it.
CREATE TABLE downstream_applied (
  n           BIGSERIAL PRIMARY KEY,
  event_id    TEXT NOT NULL,
  customer_id TEXT NOT NULL
);`

// sqliteSchema is the same tables in SQLite's types.
const sqliteSchema = `
CREATE TABLE outbox (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT    NOT NULL UNIQUE,
  aggregatetype TEXT    NOT NULL,
  aggregateid   TEXT    NOT NULL,
  type          TEXT    NOT NULL,
  payload       TEXT    NOT NULL,
  trace_id      TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,  -- Unix microseconds
  published_at  INTEGER
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
CREATE TABLE customers (
  id     TEXT PRIMARY KEY,
  name   TEXT NOT NULL,
  region TEXT NOT NULL
);
CREATE TABLE orders (
  id          TEXT PRIMARY KEY,
  customer_id TEXT    NOT NULL REFERENCES customers (id),
  amount      INTEGER NOT NULL,
  region      TEXT    NOT NULL,
  event_id    TEXT    NOT NULL,
  applied     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE inbox (
  topic      TEXT    NOT NULL,
  partition  INTEGER NOT NULL,
  "offset"   INTEGER NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE rejected (
  topic      TEXT    NOT NULL,
  partition  INTEGER NOT NULL,
  "offset"   BIGINT  NOT NULL,
  reason     TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE downstream_inbox (
  event_id TEXT PRIMARY KEY
);
CREATE TABLE downstream_totals (
  customer_id TEXT    PRIMARY KEY,
  orders      INTEGER NOT NULL,
  amount      INTEGER NOT NULL,
  last_order  TEXT    NOT NULL
);
CREATE TABLE downstream_applied (
  n           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id    TEXT NOT NULL,
  customer_id TEXT NOT NULL
);`

// Purge is how outbox rows go away once they are published (see
// step.Purge for each strategy).
type Purge = step.Purge

// The purge strategies.
const (
	KeepRows            = step.KeepRows
	DeleteWhenPublished = step.DeleteWhenPublished
	DeleteAfterInsert   = step.DeleteAfterInsert
)

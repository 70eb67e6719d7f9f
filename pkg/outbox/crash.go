package outbox

import (
	"errors"
	"fmt"
)

// Point is a place in the pipeline where a component can crash.
type Point string

// The crash points, in the order an event passes them.
const (
	// IngestBeforeCommit: the ingest consumer dies inside its database
	// transaction, before COMMIT. The transaction rolls back and the
	// batch is consumed again.
	IngestBeforeCommit Point = "ingest: before the DB commit"
	// IngestBeforeOffsets: the database transaction committed, the Kafka
	// offsets did not. The batch is consumed again; the inbox finds every
	// record and the second pass changes nothing.
	IngestBeforeOffsets Point = "ingest: after the DB commit, before the offset commit"
	// RelayBeforePublish: the relay read committed outbox rows and dies
	// before producing them. It reads them again after the restart.
	RelayBeforePublish Point = "relay: before publishing"
	// RelayBeforeConfirm: the broker acknowledged the events, the relay
	// dies before confirming (the LSN for LogRelay, the published mark
	// for PollRelay). It publishes them again: duplicates on the topic,
	// which the downstream inbox absorbs.
	RelayBeforeConfirm Point = "relay: after publishing, before confirming"
	// DownstreamBeforeOffsets: the downstream consumer applied a batch
	// in its database and dies before committing its Kafka offsets.
	DownstreamBeforeOffsets Point = "downstream: after applying, before the offset commit"
)

// Points lists every crash point.
var Points = []Point{IngestBeforeCommit, IngestBeforeOffsets, RelayBeforePublish, RelayBeforeConfirm, DownstreamBeforeOffsets}

// ErrCrashed is what a component returns when its Crash fires. Whatever
// it held in memory is gone; the driver discards it and starts a new one.
var ErrCrashed = errors.New("outbox: crashed (injected)")

// Crash makes a component die the After-th time (1 for the first) it
// passes At. The zero Crash never fires.
type Crash struct {
	At    Point
	After int
	seen  int
}

// String describes the crash.
func (c *Crash) String() string {
	if c == nil || c.At == "" {
		return "no crash"
	}
	return fmt.Sprintf("%s (pass %d)", c.At, c.After)
}

// hit counts a pass through p and reports whether the component must die
// there now. A nil Crash never fires.
func (c *Crash) hit(p Point) bool {
	if c == nil || c.At != p {
		return false
	}
	c.seen++
	return c.seen == c.After
}

// Fired reports whether the crash happened.
func (c *Crash) Fired() bool { return c != nil && c.At != "" && c.seen >= c.After && c.After > 0 }

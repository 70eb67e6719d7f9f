package eos

import "fmt"

// Mode is a delivery mode of the pipeline: where it commits its offsets
// relative to its output.
type Mode int

// The delivery modes, weakest first.
const (
	// AtMostOnce commits a batch's offsets, then produces its output.
	AtMostOnce Mode = iota
	// AtLeastOnce produces a batch's output, then commits its offsets;
	// the producer is not idempotent.
	AtLeastOnce
	// IdempotentProducer is AtLeastOnce with the idempotent producer on.
	IdempotentProducer
	// IdempotentSink writes output rows and offsets in one SQL
	// transaction under a unique key, and resumes from the stored offsets.
	IdempotentSink
	// Transactional produces the output and commits the offsets in one
	// Kafka transaction; downstream reads read_committed.
	Transactional
)

// Modes lists every mode, weakest first.
var Modes = []Mode{AtMostOnce, AtLeastOnce, IdempotentProducer, IdempotentSink, Transactional}

// String names the mode as the chapter does.
func (m Mode) String() string {
	switch m {
	case AtMostOnce:
		return "at-most-once"
	case AtLeastOnce:
		return "at-least-once"
	case IdempotentProducer:
		return "idempotent producer"
	case IdempotentSink:
		return "idempotent sink"
	case Transactional:
		return "transactions"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Point is a named place in the processing of one batch where an instance
// can crash.
type Point int

// The crash points, in the order a batch meets them in AtLeastOnce (each
// mode meets all of them, in its own order: see Pipeline.Run).
const (
	// NoCrash never crashes.
	NoCrash Point = iota
	// AfterConsume: the batch was polled, nothing else done.
	AfterConsume
	// MidOutput: half of the batch's output was written (produced and
	// flushed to the broker, or written inside the open SQL transaction).
	MidOutput
	// BeforeCommit: all output written, offsets not yet committed (inside
	// the open Kafka or SQL transaction where there is one).
	BeforeCommit
	// AfterCommit: offsets committed (and, for transactions, the
	// transaction committed), before the instance moves on.
	AfterCommit
)

// Points lists the crash points, NoCrash excluded.
var Points = []Point{AfterConsume, MidOutput, BeforeCommit, AfterCommit}

// String names the point.
func (p Point) String() string {
	switch p {
	case NoCrash:
		return "no crash"
	case AfterConsume:
		return "after consume"
	case MidOutput:
		return "mid-output"
	case BeforeCommit:
		return "before commit"
	case AfterCommit:
		return "after commit"
	}
	return fmt.Sprintf("Point(%d)", int(p))
}

// Crash says where one instance dies: at Point, in its Batch-th batch
// (counting from 0).
type Crash struct {
	Point Point
	Batch int
	// Kill, when not nil, is called at the crash point, before the
	// instance returns: a child process kills itself there with SIGKILL,
	// so the crash is a real kill -9 (see the kill tests). Nil simulates
	// the crash by closing the client without ending anything.
	Kill func()
}

// die is what an instance does at its crash point.
func (c Crash) die() error {
	if c.Kill != nil {
		c.Kill()
	}
	return errCrash
}

// at reports whether the instance dies at point p of batch b.
func (c Crash) at(p Point, b int) bool { return c.Point != NoCrash && c.Point == p && c.Batch == b }

// Package reseq holds the types of chapter 08's resequencer (exercise
// ordering/reseq, solutions/ordering.NewResequencer): the stage after a
// salted hot key's sub-streams are merged again, which hands each key's
// events on in sequence order.
package reseq

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/ordering/history"
)

// Config bounds a resequencer's waiting.
type Config struct {
	// MaxBuffer is how many events one key may hold back while it waits
	// for a missing seq; when one more arrives, the wait ends.
	MaxBuffer int
	// Timeout is how long a key waits for a missing seq, from the moment
	// it first had to hold an event back.
	Timeout time.Duration
}

// Validate says what is wrong with c.
func (c Config) Validate() error {
	if c.MaxBuffer < 1 || c.Timeout <= 0 {
		return fmt.Errorf("a resequencer needs MaxBuffer >= 1 and Timeout > 0 (got %d and %v)", c.MaxBuffer, c.Timeout)
	}
	return nil
}

// Stats counts what a resequencer did.
type Stats struct {
	Emitted int
	// Dropped counts events that arrived with a seq already emitted or
	// given up: duplicates, and stragglers too late to be placed.
	Dropped int
	// Skipped counts seqs given up when a wait ended (timeout or full
	// buffer): declared missing, never emitted.
	Skipped int
	// Buffered is how many events are held back now.
	Buffered int
}

// Resequencer restores per-key order by sequence number. Every key
// starts at seq 0. Time is passed in (now, since any fixed start), so
// a run is deterministic.
type Resequencer interface {
	// Push takes one event and returns the events it releases, in the
	// order to hand them on: per key, strictly increasing seqs.
	Push(e history.Event, now time.Duration) []history.Event
	// Tick releases what waited past Timeout by now.
	Tick(now time.Duration) []history.Event
	// Stats reports the counts so far.
	Stats() Stats
}

// New is the constructor's signature.
type New func(Config) (Resequencer, error)

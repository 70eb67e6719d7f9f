// Package hot deals with hot customers: the [Detector] interface a
// heavy-hitter detector implements (the reference is solutions/shard's
// NewDetector; notebooks/04-sharding asks you to write one), the [Policy]
// that turns a customer's estimated rate into a salt factor, and the
// [SaltTable], the routing table that records every change of salt factor so
// that reads over any time range know which sub-shards to visit.
package hot

import (
	"fmt"
	"math"
)

// Config sizes a sliding-window heavy-hitter detector.
type Config struct {
	// Slots is the window's length in slots: the window is the current
	// slot plus the Slots-1 slots before it. Tick closes a slot.
	Slots int
	// Capacity is how many customers one slot's summary keeps counts for
	// (bounded memory, whatever the number of customers).
	Capacity int
	// Threshold is the share of the window's events (0 < Threshold <= 1)
	// from which a customer counts as hot.
	Threshold float64
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	switch {
	case c.Slots < 1:
		return fmt.Errorf("detector: slots must be at least 1, got %d", c.Slots)
	case c.Capacity < 1:
		return fmt.Errorf("detector: capacity must be at least 1, got %d", c.Capacity)
	case math.IsNaN(c.Threshold) || c.Threshold <= 0 || c.Threshold > 1:
		return fmt.Errorf("detector: threshold must be in (0, 1], got %v", c.Threshold)
	}
	return nil
}

// Hit is a hot customer and its estimated number of events in the window.
type Hit struct {
	Customer string
	Count    uint64
}

// Detector finds the customers that send at least a threshold share of the
// events in a sliding window, in bounded memory.
type Detector interface {
	// Observe counts n events of customer in the current slot.
	Observe(customer string, n uint64)
	// Tick closes the current slot and opens a new one; the oldest slot
	// leaves the window.
	Tick()
	// Hot returns the customers whose estimated count is at least Threshold
	// of the window's events, heaviest first (ties by name).
	Hot() []Hit
	// Estimate returns customer's estimated events in the window.
	Estimate(customer string) uint64
	// Counters returns how many per-customer counters the detector holds:
	// at most Slots*Capacity.
	Counters() int
}

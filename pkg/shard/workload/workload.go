// Package workload generates the sharding chapter's traffic: many customers
// whose event rates follow a Zipf law, as in the interview question's
// assumptions (100K customers, 10M events/s, 90-day retention). Everything is
// seeded and lives in virtual time: the same Config gives the same customers,
// rates and event stream on every machine.
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Config describes the traffic of a multi-tenant metrics store.
type Config struct {
	// Seed fixes which customer gets which rate, and every event drawn.
	Seed uint64
	// Customers is how many tenants send metrics.
	Customers int
	// Rate is the total ingest rate in events per second.
	Rate float64
	// Zipf is the exponent s of the per-customer rates: the customer of rank
	// r (1 = busiest) sends in proportion to 1/r^s. 0 gives every customer
	// the same rate; YCSB's classic skew is 0.99.
	Zipf float64
	// Retention is how long a customer's data is kept by default.
	Retention time.Duration
	// PointBytes is the stored size of one event (timestamp + value +
	// series id, before compression and replication).
	PointBytes int
}

// Default returns the interview question's assumptions: 100K customers,
// 10M events/s with Zipf(0.99) per-customer rates, 90-day retention, 16 bytes
// a point.
func Default() Config {
	return Config{Seed: 1, Customers: 100_000, Rate: 10e6, Zipf: 0.99, Retention: 90 * 24 * time.Hour, PointBytes: 16}
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	switch {
	case c.Customers < 1:
		return fmt.Errorf("workload: customers must be at least 1, got %d", c.Customers)
	case c.Customers > math.MaxInt32:
		return fmt.Errorf("workload: at most 2^31 customers, got %d", c.Customers)
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("workload: rate must be a positive number of events/s, got %v", c.Rate)
	case math.IsNaN(c.Zipf) || c.Zipf < 0 || c.Zipf > 10:
		return fmt.Errorf("workload: zipf exponent must be in [0, 10], got %v", c.Zipf)
	case c.Retention <= 0:
		return fmt.Errorf("workload: retention must be positive, got %v", c.Retention)
	case c.PointBytes < 1:
		return fmt.Errorf("workload: point size must be at least 1 byte, got %d", c.PointBytes)
	}
	return nil
}

// Workload is a generated population of customers with their rates.
type Workload struct {
	cfg   Config
	ids   []string
	rates []float64 // events/s per customer index
	byRnk []int     // customer index of rank 0, 1, ... (busiest first)
	alias *Alias
}

// New generates the customers of c: customer i is named ID(i); ranks are
// dealt to customers by a seeded shuffle, so the busiest customer is not
// customer 0.
func New(c Config) (*Workload, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w, err := ZipfWeights(c.Customers, c.Zipf)
	if err != nil {
		return nil, err
	}
	rng := sim.NewRand(c.Seed, "workload/ranks")
	perm := rng.Perm(c.Customers)
	wl := &Workload{cfg: c, ids: make([]string, c.Customers), rates: make([]float64, c.Customers), byRnk: perm}
	for i := range wl.ids {
		wl.ids[i] = ID(i)
	}
	weights := make([]float64, c.Customers)
	for r, i := range perm {
		weights[i] = w[r]
		wl.rates[i] = w[r] * c.Rate
	}
	if wl.alias, err = NewAlias(weights); err != nil {
		return nil, err
	}
	return wl, nil
}

// ID returns the name of customer i: "cust-000042".
func ID(i int) string {
	s := strconv.Itoa(i)
	if len(s) < 6 {
		s = "000000"[len(s):] + s
	}
	return "cust-" + s
}

// Config returns the configuration the workload was generated from.
func (w *Workload) Config() Config { return w.cfg }

// Len returns the number of customers.
func (w *Workload) Len() int { return len(w.ids) }

// IDs returns every customer's name, by customer index (a copy).
func (w *Workload) IDs() []string { return append([]string(nil), w.ids...) }

// Rates returns every customer's rate in events/s, by customer index (a copy).
func (w *Workload) Rates() []float64 { return append([]float64(nil), w.rates...) }

// Rate returns customer i's rate in events/s.
func (w *Workload) Rate(i int) (float64, error) {
	if i < 0 || i >= len(w.rates) {
		return 0, fmt.Errorf("workload: no customer %d (there are %d)", i, len(w.rates))
	}
	return w.rates[i], nil
}

// ByRank returns the index of the customer of rank r (0 = busiest).
func (w *Workload) ByRank(r int) (int, error) {
	if r < 0 || r >= len(w.byRnk) {
		return 0, fmt.Errorf("workload: no rank %d (there are %d customers)", r, len(w.byRnk))
	}
	return w.byRnk[r], nil
}

// Share returns the fraction of all events that customer i sends.
func (w *Workload) Share(i int) (float64, error) {
	r, err := w.Rate(i)
	return r / w.cfg.Rate, err
}

// Sampler returns the alias table that draws a customer index per event
// with probability proportional to its rate.
func (w *Workload) Sampler() *Alias { return w.alias }

// Stream returns a seeded source of events: each call to Next returns the
// customer index of the next event. Streams with different names are
// independent; the same name gives the same sequence.
func (w *Workload) Stream(name string) *Stream {
	return &Stream{alias: w.alias, rng: sim.NewRand(w.cfg.Seed, "workload/stream/"+name)}
}

// Stream draws events from a workload.
type Stream struct {
	alias *Alias
	rng   *rand.Rand
}

// Next returns the customer index of the next event.
func (s *Stream) Next() int { return s.alias.Pick(s.rng.Uint64()) }

// Uint64 returns the stream's next raw random number, for callers that
// draw customers with [Alias.Pick] in a hot loop.
func (s *Stream) Uint64() uint64 { return s.rng.Uint64() }

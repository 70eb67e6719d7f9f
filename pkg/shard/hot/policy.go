package hot

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Policy turns a customer's estimated rate into a salt factor.
type Policy struct {
	// PerSalt is the most events/s one salt (one sub-shard) of a customer
	// should carry; a customer at rate r needs r/PerSalt salts, rounded up
	// to a power of two so that factors change rarely.
	PerSalt float64
	// MaxSalts caps the factor (usually the number of shards: more salts
	// than shards only adds read fan-out).
	MaxSalts int
	// Cooldown is how many consecutive decisions must find that a customer
	// needs fewer salts before its factor is lowered. Raising is immediate;
	// lowering waits, so a customer near the threshold does not flap.
	Cooldown int
	// Margin is a dead band against estimation noise, in [0, 1): a factor
	// rises only once the rate exceeds its capacity (factor x PerSalt) by
	// Margin, and falls only once the rate is Margin below the lower
	// factor's capacity. A customer whose estimate wobbles around a boundary
	// keeps its factor.
	Margin float64
}

// Validate reports the first problem with the policy.
func (p Policy) Validate() error {
	switch {
	case !(p.PerSalt > 0) || math.IsInf(p.PerSalt, 0):
		return fmt.Errorf("salt policy: per-salt rate must be a positive number of events/s, got %v", p.PerSalt)
	case p.MaxSalts < 1:
		return fmt.Errorf("salt policy: max salts must be at least 1, got %d", p.MaxSalts)
	case p.Cooldown < 0:
		return fmt.Errorf("salt policy: cooldown must be >= 0, got %d", p.Cooldown)
	case math.IsNaN(p.Margin) || p.Margin < 0 || p.Margin >= 1:
		return fmt.Errorf("salt policy: margin must be in [0, 1), got %v", p.Margin)
	}
	return nil
}

// Needed returns the salt factor for a customer sending rate events/s: the
// smallest power of two k with rate/k <= PerSalt, at most MaxSalts.
func (p Policy) Needed(rate float64) int {
	if !(rate > p.PerSalt) {
		return 1
	}
	k := 1
	for float64(k)*p.PerSalt < rate && k < p.MaxSalts {
		k *= 2
	}
	return max(1, min(k, p.MaxSalts)) // never 0, even for an unvalidated policy
}

// Change is one salt-factor change the controller made.
type Change struct {
	Customer string
	At       time.Time
	From, To int
	Rate     float64 // the estimated rate (events/s) that decided it
}

// Controller closes the loop: at the end of each detector slot it reads the
// detector's estimates, applies the policy and records changes in the salt
// table.
type Controller struct {
	det   Detector
	cfg   Config
	pol   Policy
	table *SaltTable
	slot  time.Duration
	scale float64
	ticks int
	below map[string]int
}

// NewController drives det (sized by cfg) with policy pol, writing to table.
// slot is the virtual duration of one detector slot; scale is how many real
// events one observed event stands for (1, or 1/p when the ingest path
// samples events with probability p).
func NewController(det Detector, cfg Config, pol Policy, table *SaltTable, slot time.Duration, scale float64) (*Controller, error) {
	if det == nil || table == nil {
		return nil, errors.New("controller: nil detector or salt table")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := pol.Validate(); err != nil {
		return nil, err
	}
	if slot <= 0 {
		return nil, fmt.Errorf("controller: slot must be positive, got %v", slot)
	}
	if !(scale >= 1) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("controller: scale must be >= 1, got %v", scale)
	}
	return &Controller{det: det, cfg: cfg, pol: pol, table: table, slot: slot, scale: scale, below: map[string]int{}}, nil
}

// Rate returns the controller's estimate of customer's rate in events/s
// over the window (before the current slot is closed).
func (c *Controller) Rate(customer string) float64 {
	slots := min(c.ticks+1, c.cfg.Slots)
	return float64(c.det.Estimate(customer)) * c.scale / (float64(slots) * c.slot.Seconds())
}

// Tick ends the current slot at time now: it decides every hot or salted
// customer's factor, records the changes (effective from now), then closes
// the detector's slot. It returns the changes, sorted by customer.
func (c *Controller) Tick(now time.Time) ([]Change, error) {
	seen := map[string]bool{}
	var candidates []string
	for _, h := range c.det.Hot() {
		if !seen[h.Customer] {
			seen[h.Customer] = true
			candidates = append(candidates, h.Customer)
		}
	}
	for _, s := range c.table.Salted() {
		if !seen[s] {
			seen[s] = true
			candidates = append(candidates, s)
		}
	}
	sort.Strings(candidates)
	var changes []Change
	for _, cust := range candidates {
		rate := c.Rate(cust)
		cur := c.table.At(cust, now)
		up := c.pol.Needed(rate / (1 + c.pol.Margin))
		down := c.pol.Needed(rate * (1 + c.pol.Margin))
		need := cur
		switch {
		case up > cur:
			need = up
		case down < cur:
			need = down
		}
		switch {
		case need > cur:
			delete(c.below, cust)
		case need < cur:
			c.below[cust]++
			if c.below[cust] < max(c.pol.Cooldown, 1) {
				continue
			}
			delete(c.below, cust)
		default:
			delete(c.below, cust)
			continue
		}
		if _, err := c.table.Set(cust, now, need); err != nil {
			return changes, err
		}
		changes = append(changes, Change{Customer: cust, At: now, From: cur, To: need, Rate: rate})
	}
	c.det.Tick()
	c.ticks++
	return changes, nil
}

// Package oversell measures what a saga's missing isolation costs: order
// sagas that reserve stock, charge a payment and compensate the
// reservation when the payment fails, running concurrently against one
// product's stock.
//
// A saga commits each step locally, so its intermediate state is visible
// to everyone before the saga ends (Garcia-Molina and Salem, "Sagas",
// SIGMOD 1987, give up isolation on purpose). Two anomalies follow, and
// this package counts both:
//
//   - Oversold: a reservation that reads the stock, then writes the stock
//     it read minus one, loses concurrent updates (two sagas read 1 and
//     both write 0), and more orders ship than there were units.
//   - Falsely refused: a saga that sees stock another saga reserved and
//     will later give back (its payment fails) refuses an order that a
//     serial run would have served.
//
// The countermeasures are the ones the saga literature names (Chris
// Richardson, "Microservices Patterns", 2018, chapter 4, after Lars Frank
// and Torben Zahle, 1998): a commutative update (an atomic conditional
// decrement), re-reading before acting (an optimistic version check), and
// a semantic lock (the reservation is marked pending, and others wait
// for it rather than read it as gone).
//
// The run is a deterministic event simulation on package sim: the same
// Config gives the same Result.
package oversell

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Strategy is how a saga's reservation step touches the stock.
type Strategy int

const (
	// ReadThenWrite reads the stock, and one step later writes back what
	// it read minus one: a lost update waiting to happen.
	ReadThenWrite Strategy = iota
	// Commutative decrements the stock atomically, only if it is above
	// zero (UPDATE stock SET n = n - 1 WHERE n > 0): no lost update, but
	// the decrement is visible until a compensation gives it back.
	Commutative
	// Reread reads the stock and its version, and writes only if the
	// version is unchanged (compare-and-set); otherwise it reads again.
	Reread
	// SemanticLock marks a unit as pending instead of taking it: a saga
	// that finds only pending units waits for them to resolve rather
	// than refusing. The unit leaves the stock when the payment succeeds
	// and returns to it when it fails.
	SemanticLock
)

// Strategies lists every strategy, in the order the chapter shows them.
var Strategies = []Strategy{ReadThenWrite, Commutative, Reread, SemanticLock}

func (s Strategy) String() string {
	switch s {
	case ReadThenWrite:
		return "read, then write"
	case Commutative:
		return "commutative decrement"
	case Reread:
		return "re-read before acting"
	case SemanticLock:
		return "semantic lock"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Config shapes one run.
type Config struct {
	Seed     uint64
	Strategy Strategy
	// Stock is the product's units; Orders the sagas, one unit each,
	// arriving uniformly over Arrivals.
	Stock, Orders int
	Arrivals      time.Duration
	// Step is the longest time between two steps of one saga (each step
	// takes a uniform time in [Step/10, Step]).
	Step time.Duration
	// PayFail is the probability that an order's payment fails, which
	// makes its saga compensate the reservation.
	PayFail float64
	// Serial runs the orders one after another, each saga to its end
	// before the next starts: the isolation baseline.
	Serial bool
}

// Default is 10 units, 15 orders over 50 ms, steps of up to 10 ms, and
// one payment in four failing: about as many paying orders as units, so
// that a unit held by a saga that will give it back decides whether
// another order is served.
func Default() Config {
	return Config{Seed: 1, Stock: 10, Orders: 15, Arrivals: 50 * time.Millisecond, Step: 10 * time.Millisecond, PayFail: 0.25}
}

// Validate says what is wrong with c, if anything.
func (c Config) Validate() error {
	switch {
	case c.Stock < 0 || c.Stock > 100_000:
		return fmt.Errorf("stock must be between 0 and 100000, not %d", c.Stock)
	case c.Orders < 1 || c.Orders > 100_000:
		return fmt.Errorf("orders must be between 1 and 100000, not %d", c.Orders)
	case c.Arrivals < 0 || c.Step <= 0:
		return fmt.Errorf("arrivals (%v) must not be negative and the step (%v) must be positive", c.Arrivals, c.Step)
	case c.PayFail < 0 || c.PayFail > 1:
		return fmt.Errorf("the payment failure probability must be between 0 and 1, not %v", c.PayFail)
	case c.Strategy < ReadThenWrite || c.Strategy > SemanticLock:
		return fmt.Errorf("unknown strategy %d", int(c.Strategy))
	}
	return nil
}

// Result is what one run counted.
type Result struct {
	Config
	// Shipped orders were reserved and paid; Refused found no stock;
	// PaymentFailed were reserved, then compensated.
	Shipped, Refused, PaymentFailed int
	// Oversold is how many more orders shipped than there were units.
	Oversold int
	// FalselyRefused counts refusals a serial run would not have made:
	// refused orders that units left unsold at the end could have
	// served.
	FalselyRefused int
	// Left is the stock at the end (it may be negative when oversold).
	Left int
	// Retries counts reservation attempts repeated: a failed version
	// check (Reread) or a wait on pending units (SemanticLock).
	Retries int
	// MeanLatency is from an order's arrival to its outcome.
	MeanLatency time.Duration
}

// Run simulates cfg's sagas and counts the anomalies.
func Run(cfg Config) (Result, error) {
	res := Result{Config: cfg}
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	s := sim.New(cfg.Seed)
	arrive, step, pay := s.Rand("arrivals"), s.Rand("steps"), s.Rand("payments")
	stock, version, pending := cfg.Stock, 0, 0
	var latency time.Duration
	delay := func() time.Duration {
		lo := cfg.Step / 10
		return lo + time.Duration(step.Int64N(int64(cfg.Step-lo)+1))
	}
	// next starts the following order in a serial run.
	var next func()
	finish := func(began sim.Time, outcome *int) {
		*outcome++
		latency += s.Now() - began
		if next != nil {
			next()
		}
	}
	saga := func() {
		began := s.Now()
		fails := pay.Float64() < cfg.PayFail
		var reserve func()
		// paid runs the payment step and its compensation.
		paid := func(release, keep func()) {
			s.After(delay(), func() {
				if fails {
					s.After(delay(), func() {
						release()
						finish(began, &res.PaymentFailed)
					})
					return
				}
				keep()
				finish(began, &res.Shipped)
			})
		}
		giveBack := func() { stock++ }
		reserve = func() {
			seen, seenVersion := stock, version
			s.After(delay(), func() {
				switch cfg.Strategy {
				case ReadThenWrite:
					if seen <= 0 {
						finish(began, &res.Refused)
						return
					}
					stock = seen - 1 // the lost update: whatever happened since the read is overwritten
					version++
					paid(giveBack, func() {})
				case Commutative:
					if stock <= 0 {
						finish(began, &res.Refused)
						return
					}
					stock--
					version++
					paid(giveBack, func() {})
				case Reread:
					if version != seenVersion {
						res.Retries++
						reserve()
						return
					}
					if stock <= 0 {
						finish(began, &res.Refused)
						return
					}
					stock--
					version++
					paid(func() { stock++; version++ }, func() {})
				case SemanticLock:
					switch {
					case stock-pending > 0:
						pending++
						paid(func() { pending-- }, func() { pending--; stock-- })
					case pending > 0:
						res.Retries++ // only pending units: wait for them to resolve
						reserve()
					default:
						finish(began, &res.Refused)
					}
				}
			})
		}
		reserve()
	}
	if cfg.Serial {
		started := 0
		next = func() {
			if started < cfg.Orders {
				started++
				s.After(0, saga)
			}
		}
		next()
	} else {
		for range cfg.Orders {
			at := time.Duration(0)
			if cfg.Arrivals > 0 {
				at = time.Duration(arrive.Int64N(int64(cfg.Arrivals)))
			}
			s.At(at, saga)
		}
	}
	s.SetMaxSteps(uint64(cfg.Orders) * 100_000)
	if err := s.Run(); err != nil {
		return res, fmt.Errorf("oversell: %w", err)
	}
	res.Left = stock
	res.Oversold = max(0, res.Shipped-cfg.Stock)
	res.FalselyRefused = min(res.Refused, max(0, stock))
	res.MeanLatency = latency / time.Duration(cfg.Orders)
	return res, nil
}

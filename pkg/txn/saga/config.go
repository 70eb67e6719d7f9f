package saga

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// Config describes a saga system and the faults to inject. Start from
// [Default]; [Config.Validate] says what is wrong with a configuration.
type Config struct {
	// Seed fixes every random draw.
	Seed uint64
	// Steps are the services, in saga order (at least one, distinct, not
	// "orchestrator" or "bus").
	Steps []string
	// Choreography runs the saga as events between services over a bus
	// instead of through an orchestrator.
	Choreography bool
	// Outbox (choreography) publishes each event through a transactional
	// outbox; without it a service commits, then publishes from memory.
	Outbox bool
	// Link is every network link (one way).
	Link sim.Link
	// Fsync is how long a local transaction's durable write takes; the
	// service holds the row's lock for that long.
	Fsync time.Duration
	// Timeout is how long a request (or a publish, or a delivery) waits for
	// its answer before it is sent again.
	Timeout time.Duration
	// MaxAttempts bounds the sends of one compensation before the saga is
	// parked for the reconciliation job.
	MaxAttempts int
	// ReconcileEvery is the period of the reconciliation job that retries
	// parked compensations.
	ReconcileEvery time.Duration
	// FailAt names the step whose service refuses (a business failure:
	// out of stock, card declined) in [Run]'s saga; "" for none.
	FailAt string
	// UndoFailure is the probability that a compensation attempt fails at
	// the service (a transient error), in [0, 1].
	UndoFailure float64
	// Crashes are the crashes to inject (nodes: "orchestrator", "bus" and
	// the steps).
	Crashes []fault.Crash
	// Horizon is the end of the run: a saga unfinished then is reported.
	Horizon time.Duration
	// Trace, when > 0, records up to that many trace events.
	Trace int
	// Compensate chooses the next compensation (orchestration only;
	// required there). txn.RulesSaga() in the parent package returns the
	// reference.
	Compensate CompensateFunc
}

// Default returns the configuration the notebook starts from: the three
// services of the question, orchestrated, 1 ms links, 1 ms fsyncs, a 50 ms
// request timeout, 3 attempts per compensation before parking, a
// reconciliation job every 30 s, no faults, a 10-minute horizon.
func Default(compensate CompensateFunc) Config {
	return Config{
		Seed:           1,
		Steps:          append([]string(nil), DefaultSteps...),
		Link:           sim.Link{Latency: time.Millisecond, Jitter: 500 * time.Microsecond, FIFO: true},
		Fsync:          time.Millisecond,
		Timeout:        50 * time.Millisecond,
		MaxAttempts:    3,
		ReconcileEvery: 30 * time.Second,
		Horizon:        10 * time.Minute,
		Compensate:     compensate,
	}
}

// Nodes returns the node names of a run with this configuration.
func (c Config) Nodes() []string {
	first := Orchestrator
	if c.Choreography {
		first = Bus
	}
	return append([]string{first}, c.Steps...)
}

// Validate reports the first problem with the configuration, in a sentence.
func (c Config) Validate() error {
	if len(c.Steps) == 0 {
		return fmt.Errorf("saga: no steps: a saga needs at least one (Default() has %v)", DefaultSteps)
	}
	seen := map[string]bool{}
	for _, s := range c.Steps {
		switch {
		case s == "":
			return fmt.Errorf("saga: a step has an empty name")
		case s == Orchestrator || s == Bus:
			return fmt.Errorf("saga: %q is a reserved node name; choose another step name", s)
		case seen[s]:
			return fmt.Errorf("saga: step %q appears twice", s)
		}
		seen[s] = true
	}
	if err := c.Link.Validate(); err != nil {
		return fmt.Errorf("saga: %w", err)
	}
	for _, d := range []struct {
		name     string
		v        time.Duration
		positive bool
	}{
		{"Fsync", c.Fsync, false},
		{"Timeout", c.Timeout, true},
		{"ReconcileEvery", c.ReconcileEvery, true},
		{"Horizon", c.Horizon, true},
	} {
		if d.v < 0 {
			return fmt.Errorf("saga: %s is negative (%v)", d.name, d.v)
		}
		if d.positive && d.v == 0 {
			return fmt.Errorf("saga: %s must be positive (it is 0; Default() sets it)", d.name)
		}
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("saga: MaxAttempts must be at least 1, got %d", c.MaxAttempts)
	}
	if c.Trace < 0 {
		return fmt.Errorf("saga: Trace is negative (%d)", c.Trace)
	}
	if c.FailAt != "" && !seen[c.FailAt] {
		return fmt.Errorf("saga: FailAt names %q, which is not a step (%v)", c.FailAt, c.Steps)
	}
	if math.IsNaN(c.UndoFailure) || c.UndoFailure < 0 || c.UndoFailure > 1 {
		return fmt.Errorf("saga: UndoFailure %v is outside [0, 1]", c.UndoFailure)
	}
	if c.UndoFailure == 1 {
		return fmt.Errorf("saga: UndoFailure 1 means no compensation ever succeeds; use less than 1")
	}
	if c.Outbox && !c.Choreography {
		return fmt.Errorf("saga: Outbox applies to choreography (set Choreography too); the orchestrator keeps its own saga log")
	}
	if err := fault.Validate(c.Crashes, c.Nodes(), c.Horizon); err != nil {
		return fmt.Errorf("saga: %w", err)
	}
	if !c.Choreography && c.Compensate == nil {
		return fmt.Errorf("saga: Compensate is not set (txn.RulesSaga() gives the reference)")
	}
	return nil
}

func (c Config) stepIndex(s string) int { return slices.Index(c.Steps, s) }

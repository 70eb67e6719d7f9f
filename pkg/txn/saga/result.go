package saga

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Result is what one run of a saga system did.
type Result struct {
	Seed         uint64
	Steps        []string
	Choreography bool
	Outbox       bool
	// Sagas holds one entry per saga, in submission order.
	Sagas []SagaResult
	// Crashes describes each crash that struck, in order.
	Crashes []string
	// RuleErrors lists the times Compensate panicked or gave an invalid
	// answer (the orchestrator then stalls on that saga).
	RuleErrors []string
	// Stuck is a *fault.StuckError when a saga was unfinished when the run
	// stopped, nil otherwise.
	Stuck error
	// End is the virtual time of the last activity.
	End time.Duration
	// AllUp is when the last crashed node restarted (0 without crashes).
	AllUp time.Duration
	// Messages counts what the network did.
	Messages sim.Stats
	// Trace is the recorded run (nil unless Config.Trace > 0).
	Trace *sim.Trace
}

// SagaResult is what happened to one saga: its outcome and every effect the
// services applied for it, with virtual times.
type SagaResult struct {
	ID      string
	FailAt  string
	Begin   time.Duration
	End     time.Duration // when the outcome became final; -1 if never
	Outcome Outcome
	// DoAt and UndoAt are when each step's action and compensation first
	// took effect (-1: never); DoCount and UndoCount how many times.
	DoAt, UndoAt       []time.Duration
	DoCount, UndoCount []int
	// Parked counts the times the saga was parked for reconciliation.
	Parked int
}

// Latency is the time from the saga's start to its final outcome (-1 if
// unfinished).
func (s SagaResult) Latency() time.Duration {
	if s.End < 0 {
		return -1
	}
	return s.End - s.Begin
}

// Window is the saga's window of inconsistency: from its first effect
// becoming visible to its outcome becoming final. Other transactions can
// see effects during it that may still be undone (0 when nothing took
// effect, -1 if the saga never finished).
func (s SagaResult) Window() time.Duration {
	if s.End < 0 {
		return -1
	}
	first := time.Duration(-1)
	for _, t := range s.DoAt {
		if t >= 0 && (first < 0 || t < first) {
			first = t
		}
	}
	if first < 0 {
		return 0
	}
	return s.End - first
}

// Compensations counts the compensating effects applied.
func (s SagaResult) Compensations() int {
	n := 0
	for _, u := range s.UndoCount {
		n += u
	}
	return n
}

func (c *Cluster) result(stepErr error) *Result {
	r := &Result{Seed: c.cfg.Seed, Steps: append([]string(nil), c.cfg.Steps...), Choreography: c.cfg.Choreography, Outbox: c.cfg.Outbox,
		Crashes: c.inj.Log(), RuleErrors: c.ruleErr, End: c.inj.Last(), AllUp: c.inj.AllUp(), Messages: c.net.Stats(), Trace: c.trace}
	var stuck []string
	for i, st := range c.sagas {
		r.Sagas = append(r.Sagas, SagaResult{ID: st.id, FailAt: st.spec.FailAt, Begin: st.begin, End: st.end, Outcome: st.outcome,
			DoAt: slices.Clone(st.doAt), UndoAt: slices.Clone(st.undoAt), DoCount: slices.Clone(st.doCount), UndoCount: slices.Clone(st.undoCount), Parked: st.parked})
		if st.outcome == Running {
			stuck = append(stuck, c.stuckOn(int32(i)))
		}
	}
	r.Stuck = c.inj.Stuck(stuck, stepErr, c.cfg.Horizon)
	return r
}

func (c *Cluster) stuckOn(s int32) string {
	st := c.sagas[s]
	if c.orch != nil {
		os := c.orch.sagas[s]
		if os == nil {
			return fmt.Sprintf("%s: the orchestrator has no memory of it", st.id)
		}
		switch os.phase {
		case oForward:
			return fmt.Sprintf("%s: the orchestrator waits for %s", st.id, c.cfg.Steps[os.step])
		case oCompensating:
			return fmt.Sprintf("%s: the orchestrator is compensating (%v, attempt %d)", st.id, os.pending, os.attempt+1)
		case oParked:
			return fmt.Sprintf("%s: parked, waiting for the reconciliation job", st.id)
		case oStalled:
			return fmt.Sprintf("%s: the orchestrator stalled after Compensate failed", st.id)
		}
		return st.id
	}
	var done []string
	for i, n := range st.doCount {
		if n > 0 {
			what := c.cfg.Steps[i] + " done"
			if st.undoCount[i] > 0 {
				what = c.cfg.Steps[i] + " undone"
			}
			done = append(done, what)
		}
	}
	if len(done) == 0 {
		return fmt.Sprintf("%s: nothing took effect and no event is in flight", st.id)
	}
	return fmt.Sprintf("%s: stopped after %s; no service is working on it (an event was lost)", st.id, strings.Join(done, ", "))
}

// CheckOutcome is the saga invariant checker. It returns one sentence per
// violation (none for a correct run):
//
//   - every saga finishes: it completes, or it is compensated;
//   - a completed saga has every step's effect once and no compensation;
//   - a compensated saga has undone every step that took effect;
//   - no step and no compensation takes effect twice (retries are
//     idempotent);
//   - nothing is compensated that never took effect;
//   - compensations run in reverse order: a step is undone before any step
//     that took effect before it;
//   - the compensation rule never fails (listed first: it explains the
//     rest).
func CheckOutcome(r *Result) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < 20 {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	for _, e := range r.RuleErrors {
		add("a rule failed: %s", e)
	}
	for _, s := range r.Sagas {
		for i, step := range r.Steps {
			if s.DoCount[i] > 1 {
				add("%s: %s took effect %d times (a retried request had a second effect)", s.ID, step, s.DoCount[i])
			}
			if s.UndoCount[i] > 1 {
				add("%s: the compensation of %s took effect %d times (a retried compensation was not idempotent)", s.ID, step, s.UndoCount[i])
			}
			if s.UndoCount[i] > 0 && s.DoCount[i] == 0 {
				add("%s: %s was compensated but had never taken effect", s.ID, step)
			}
		}
		switch s.Outcome {
		case Running:
			add("%s did not finish by the end of the run", s.ID)
		case Completed:
			for i, step := range r.Steps {
				if s.DoCount[i] == 0 {
					add("%s completed, but %s never took effect", s.ID, step)
				}
				if s.UndoCount[i] > 0 {
					add("%s completed, but %s was compensated", s.ID, step)
				}
			}
		case Compensated:
			for i, step := range r.Steps {
				if s.DoCount[i] > 0 && s.UndoCount[i] == 0 {
					add("%s ended compensated, but %s's effect was never undone", s.ID, step)
				}
			}
		}
		for i := range r.Steps {
			for j := i + 1; j < len(r.Steps); j++ {
				// Step i took effect before step j: j must be undone first.
				if s.UndoAt[i] >= 0 && s.UndoAt[j] >= 0 && s.DoAt[j] >= 0 && s.UndoAt[i] < s.UndoAt[j] {
					add("%s: compensations out of order: %s was undone at %v, before %s (which took effect after it) at %v; undo the latest step first", s.ID, r.Steps[i], s.UndoAt[i], r.Steps[j], s.UndoAt[j])
				}
			}
		}
	}
	if r.Stuck != nil {
		add("%s", r.Stuck.Error())
	}
	return out
}

// Violations runs [CheckOutcome] on the result.
func (r *Result) Violations() []string { return CheckOutcome(r) }

// Count returns how many sagas ended with outcome o.
func (r *Result) Count(o Outcome) int {
	n := 0
	for _, s := range r.Sagas {
		if s.Outcome == o {
			n++
		}
	}
	return n
}

// Mermaid renders the recorded run as a Mermaid sequence diagram, each
// arrow stamped with its virtual time ("" when the run was not recorded:
// set Config.Trace).
func (r *Result) Mermaid() string {
	if r.Trace == nil {
		return ""
	}
	var parts []sim.NodeID
	if r.Choreography {
		parts = append(parts, sim.NodeID(r.Steps[0]), Bus)
		for _, s := range r.Steps[1:] {
			parts = append(parts, sim.NodeID(s))
		}
	} else {
		parts = append(parts, Orchestrator)
		for _, s := range r.Steps {
			parts = append(parts, sim.NodeID(s))
		}
	}
	return r.Trace.Mermaid(sim.MermaidOptions{Participants: parts, Times: true})
}

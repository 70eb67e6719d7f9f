package twopc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// Result is what one run of a cluster did.
type Result struct {
	Seed         uint64
	Participants []string
	// Txns holds one entry per transaction, in submission order.
	Txns []TxnResult
	// Crashes describes each crash that struck, in order.
	Crashes []string
	// RuleErrors lists the times a rule returned an error, panicked or gave
	// an invalid answer (the node then stalls on that transaction).
	RuleErrors []string
	// Stuck is a *StuckError when a transaction was still unresolved when
	// the run stopped, nil otherwise.
	Stuck error
	// End is the virtual time of the last protocol activity.
	End time.Duration
	// AllUp is when the last crashed node restarted (0 without crashes).
	AllUp time.Duration
	// Messages counts what the network did.
	Messages sim.Stats
	// Trace is the recorded run (nil unless Config.Trace > 0); render it
	// with Trace.Mermaid.
	Trace *sim.Trace
}

// TxnResult is what happened to one transaction.
type TxnResult struct {
	Begin time.Duration
	// Decided is when the coordinator finished its phase 2 and could answer
	// its client (-1 if it never did).
	Decided time.Duration
	// Decision is the coordinator's decision, NoDecision if it never made
	// one (it crashed first, or its rule failed).
	Decision Decision
	// CoordinatorLog is the coordinator's durable log for the transaction.
	CoordinatorLog []Kind
	// Outcomes is each participant's outcome from its durable log:
	// Commit, Abort (also when it never prepared), or NoDecision (still
	// prepared, in doubt).
	Outcomes []Decision
	// Logs is each participant's durable log for the transaction.
	Logs [][]Kind
	// LockHeld is how long each participant held the transaction's locks
	// (a prepared participant keeps them through a crash: it takes them
	// again on recovery).
	LockHeld []time.Duration
	// InDoubt is how long each participant was up, prepared and waiting for
	// the outcome: the time 2PC blocked it.
	InDoubt []time.Duration
	// Conflicts lists decisions a participant received that contradict
	// what it had logged.
	Conflicts []string
}

// StuckError reports a run that stopped with work unfinished (see
// package fault).
type StuckError = fault.StuckError

func (c *Cluster) result(stepErr error) *Result {
	r := &Result{Seed: c.cfg.Seed, Participants: append([]string(nil), c.names...), Crashes: c.inj.Log(),
		RuleErrors: c.ruleErr, End: c.inj.Last(), AllUp: c.inj.AllUp(), Messages: c.net.Stats(), Trace: c.trace}
	now := c.sim.Now()
	var stuck []string
	for t, st := range c.txns {
		tr := TxnResult{Begin: st.begin, Decided: st.decided, Decision: st.decision,
			CoordinatorLog: slices.Clone(c.coord.log[int32(t)]), Conflicts: st.conflicts}
		for i, p := range c.parts {
			recs := slices.Clone(p.log[int32(t)])
			tr.Logs = append(tr.Logs, recs)
			out := durableDecision(recs)
			if out == NoDecision && !slices.Contains(recs, Prepared) {
				out = Abort // never prepared: nothing to undo
			}
			tr.Outcomes = append(tr.Outcomes, out)
			held, doubt := st.lockHeld[i], st.inDoubt[i]
			if st.lockAt[i] != never {
				held += now - st.lockAt[i]
			}
			if st.doubtAt[i] != never {
				doubt += now - st.doubtAt[i]
			}
			tr.LockHeld = append(tr.LockHeld, held)
			tr.InDoubt = append(tr.InDoubt, doubt)
			if why := p.stuckOn(int32(t)); why != "" {
				stuck = append(stuck, fmt.Sprintf("%s %s on t%d", p.id, why, t+1))
			}
		}
		if why := c.coord.stuckOn(int32(t)); why != "" {
			stuck = append(stuck, fmt.Sprintf("%s %s on t%d", Coordinator, why, t+1))
		}
		r.Txns = append(r.Txns, tr)
	}
	r.Stuck = c.inj.Stuck(stuck, stepErr, c.cfg.Horizon)
	return r
}

func (p *participant) stuckOn(t int32) string {
	pt := p.txns[t]
	if pt == nil {
		if durableDecision(p.log[t]) == NoDecision && slices.Contains(p.log[t], Prepared) {
			return "is down while prepared"
		}
		return ""
	}
	switch pt.phase {
	case pWaiting:
		return "waits for a lock"
	case pPreparing:
		return "is writing PREPARED"
	case pPrepared:
		return "is in doubt (prepared, locks held)"
	case pDeciding:
		return "is writing its decision"
	case pStalled:
		return "stalled after its recovery rule failed"
	}
	return ""
}

func (co *coordinator) stuckOn(t int32) string {
	ct := co.txns[t]
	if ct == nil {
		return ""
	}
	switch ct.phase {
	case cVoting:
		return "waits for votes"
	case cDeciding:
		return "is in its phase 2"
	case cAcks:
		var missing []string
		for i, ok := range ct.acked {
			if !ok {
				missing = append(missing, co.c.names[i])
			}
		}
		return "waits for ACKs from " + strings.Join(missing, ", ")
	case cStalled:
		return "stalled after its phase-2 rule failed"
	}
	return ""
}

// Atomicity is the 2PC invariant checker. It returns one sentence per
// violation (none for a correct run):
//
//   - every participant commits, or every participant aborts: never a mix;
//   - a coordinator that logged COMMIT has no aborted participant;
//   - no participant receives a decision that contradicts its log;
//   - nothing stays prepared: once every node is up, each transaction
//     resolves before the run ends;
//   - the protocol's rules never fail (these come first: they explain the
//     rest).
func Atomicity(r *Result) []string {
	var out []string
	for _, e := range r.RuleErrors {
		out = append(out, "a rule failed: "+e)
	}
	for t, tr := range r.Txns {
		var commits, aborts []string
		for i, o := range tr.Outcomes {
			switch o {
			case Commit:
				commits = append(commits, r.Participants[i])
			case Abort:
				aborts = append(aborts, r.Participants[i])
			}
		}
		if len(commits) > 0 && len(aborts) > 0 {
			out = append(out, fmt.Sprintf("t%d has a mixed outcome: %s committed, %s aborted", t+1, strings.Join(commits, ", "), strings.Join(aborts, ", ")))
		} else if durableDecision(tr.CoordinatorLog) == Commit && len(aborts) > 0 {
			out = append(out, fmt.Sprintf("t%d: the coordinator logged COMMIT but %s aborted", t+1, strings.Join(aborts, ", ")))
		}
		for _, c := range tr.Conflicts {
			out = append(out, fmt.Sprintf("t%d: %s", t+1, c))
		}
	}
	if r.Stuck != nil {
		out = append(out, r.Stuck.Error())
	}
	return out
}

// Violations runs [Atomicity] on the result.
func (r *Result) Violations() []string { return Atomicity(r) }

// Blocked is the longest time any participant spent in doubt (up, prepared,
// waiting for the outcome) over all transactions.
func (r *Result) Blocked() time.Duration {
	var m time.Duration
	for _, t := range r.Txns {
		for _, d := range t.InDoubt {
			m = max(m, d)
		}
	}
	return m
}

// MaxLockHeld is the longest time any participant held a transaction's locks.
func (r *Result) MaxLockHeld() time.Duration {
	var m time.Duration
	for _, t := range r.Txns {
		for _, d := range t.LockHeld {
			m = max(m, d)
		}
	}
	return m
}

// Outcome summarises transaction t's outcome: "COMMIT", "ABORT", "MIXED" or
// "IN DOUBT".
func (r *Result) Outcome(t int) string {
	if t < 0 || t >= len(r.Txns) {
		return "no such transaction"
	}
	seen := map[Decision]bool{}
	for _, o := range r.Txns[t].Outcomes {
		seen[o] = true
	}
	switch {
	case seen[Commit] && seen[Abort]:
		return "MIXED"
	case seen[NoDecision]:
		return "IN DOUBT"
	case seen[Commit]:
		return "COMMIT"
	}
	return "ABORT"
}

// Mermaid renders the recorded run as a Mermaid sequence diagram, lifelines
// in protocol order, each arrow stamped with its virtual time ("" when the
// run was not recorded: set Config.Trace).
func (r *Result) Mermaid() string {
	if r.Trace == nil {
		return ""
	}
	parts := []sim.NodeID{Coordinator}
	for _, p := range r.Participants {
		parts = append(parts, sim.NodeID(p))
	}
	return r.Trace.Mermaid(sim.MermaidOptions{Participants: parts, Times: true})
}

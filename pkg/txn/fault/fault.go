// Package fault injects crashes into protocols that run on package sim, at
// protocol steps rather than only at times.
//
// A protocol node announces each of its effects (a message it sends, a
// record it writes durably) with [Injector.Before] and [Injector.After]. A
// [Crash] names a node and either a step ("after its 3rd effect") or a
// virtual time, and a downtime; the injector crashes the node there, through
// the network (so its timers stop and messages to it are lost), and restarts
// it after the downtime (so its recovery hook runs). Crashing at steps is
// what lets a test hit every point of a protocol: between a log write and
// the send that follows it, after the first of three messages, and so on.
package fault

import (
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Crash is one crash of one node, followed by a restart after Downtime.
// Build one with [After] (a protocol step) or [At] (a time).
type Crash struct {
	// Node is the node's name.
	Node string
	// After: the node crashes right after its After-th effect (a send, or a
	// log write once it is durable). 0 means before its first effect.
	// Used unless Timed is set.
	After int
	// Timed selects a crash at virtual time Time instead of at a step.
	Timed bool
	// Time is when a timed crash strikes.
	Time time.Duration
	// Downtime is how long the node stays down before it restarts.
	Downtime time.Duration
}

// After returns a crash of node right after its n-th effect.
func After(node string, n int, downtime time.Duration) Crash {
	return Crash{Node: node, After: n, Downtime: downtime}
}

// At returns a crash of node at virtual time t.
func At(node string, t, downtime time.Duration) Crash {
	return Crash{Node: node, Timed: true, Time: t, Downtime: downtime}
}

// String describes the crash, e.g. "billing crashes after 2 effects, down
// 24.015s" (times rounded to the millisecond).
func (c Crash) String() string {
	when := fmt.Sprintf("after %d effects", c.After)
	if c.Timed {
		when = "at " + c.Time.Round(time.Microsecond).String()
	}
	return fmt.Sprintf("%s crashes %s, down %v", c.Node, when, c.Downtime.Round(time.Millisecond))
}

// Validate checks crashes against the node names and the run's horizon:
// known nodes, no negative downtime or step, timed crashes inside
// [0, horizon], and every node back up before the horizon.
func Validate(crashes []Crash, nodes []string, horizon time.Duration) error {
	known := map[string]bool{}
	for _, n := range nodes {
		known[n] = true
	}
	for i, cr := range crashes {
		if !known[cr.Node] {
			return fmt.Errorf("crash %d names node %q, which is not in the run (nodes: %v)", i+1, cr.Node, nodes)
		}
		if cr.Downtime < 0 {
			return fmt.Errorf("crash %d (%s) has a negative downtime %v", i+1, cr.Node, cr.Downtime)
		}
		if cr.After < 0 {
			return fmt.Errorf("crash %d (%s) is after %d effects; the count starts at 0", i+1, cr.Node, cr.After)
		}
		if cr.Timed && (cr.Time < 0 || cr.Time > horizon) {
			return fmt.Errorf("crash %d (%s) at %v is outside the run [0, %v]", i+1, cr.Node, cr.Time, horizon)
		}
		if cr.Timed && cr.Time+cr.Downtime > horizon {
			return fmt.Errorf("crash %d (%s) at %v with downtime %v restarts after the end of the run (%v); lengthen the horizon", i+1, cr.Node, cr.Time, cr.Downtime, horizon)
		}
		if !cr.Timed && cr.Downtime >= horizon {
			return fmt.Errorf("crash %d (%s) has downtime %v, not shorter than the run (%v); lengthen the horizon", i+1, cr.Node, cr.Downtime, horizon)
		}
	}
	return nil
}

// Act names an effect without building a string (most are never printed).
type Act struct {
	Verb string
	To   sim.NodeID
}

// String describes the effect, e.g. "send PREPARE to billing".
func (a Act) String() string {
	if a.Verb == "" {
		return "none"
	}
	if a.To == "" {
		return a.Verb
	}
	return a.Verb + " to " + string(a.To)
}

// Node is one node's effect counter and pending crashes.
type Node struct {
	ID      sim.NodeID
	effects int
	last    Act
	pending []*pending
}

// Effects returns how many effects the node has performed.
func (n *Node) Effects() int { return n.effects }

type pending struct {
	after    int
	downtime time.Duration
	fired    bool
}

// Injector strikes the crashes of one run.
type Injector struct {
	net   *sim.Network
	nodes map[sim.NodeID]*Node
	log   []string
	allUp time.Duration
	last  time.Duration
}

// New returns an injector for net and schedules crashes (validate them
// first with [Validate]). Nodes it does not know yet are added by [Injector.Node].
func New(net *sim.Network, crashes []Crash) *Injector {
	in := &Injector{net: net, nodes: map[sim.NodeID]*Node{}}
	for _, cr := range crashes {
		n := in.Node(sim.NodeID(cr.Node))
		if cr.Timed {
			downtime := cr.Downtime
			net.Sim().At(cr.Time, func() {
				if net.Up(n.ID) {
					in.crash(n, downtime, fmt.Sprintf("(after %d effects, the last: %s)", n.effects, n.last))
				}
			})
		} else {
			n.pending = append(n.pending, &pending{after: cr.After, downtime: cr.Downtime})
		}
	}
	return in
}

// Node returns the counter of node id, creating it on first use.
func (in *Injector) Node(id sim.NodeID) *Node {
	n, ok := in.nodes[id]
	if !ok {
		n = &Node{ID: id}
		in.nodes[id] = n
	}
	return n
}

// Before is called before each effect of n: it reports false when the node
// is down, or crashes now because a crash is due before its first effect.
func (in *Injector) Before(n *Node, a Act) bool {
	if !in.net.Up(n.ID) {
		return false
	}
	if n.effects == 0 && len(n.pending) > 0 && in.strike(n, a, true) {
		return false
	}
	return true
}

// After is called once an effect is done (sent, or durable): a crash due
// after this many effects strikes now. Check that the node is up before
// going on.
func (in *Injector) After(n *Node, a Act) {
	n.effects++
	n.last = a
	in.last = in.net.Sim().Now()
	if len(n.pending) > 0 {
		in.strike(n, a, false)
	}
}

// Send performs a send as one effect of from.
func (in *Injector) Send(from *Node, to sim.NodeID, msg any, verb string) bool {
	a := Act{Verb: verb, To: to}
	if !in.Before(from, a) {
		return false
	}
	in.net.Send(from.ID, to, msg)
	in.After(from, a)
	return true
}

func (in *Injector) strike(n *Node, a Act, first bool) bool {
	for _, cr := range n.pending {
		if cr.after == n.effects && !cr.fired {
			cr.fired = true
			where := fmt.Sprintf("after %d effects (the last: %s)", n.effects, a)
			if first {
				where = fmt.Sprintf("before its first effect (it was about to %s)", a)
			}
			in.crash(n, cr.downtime, where)
			return true
		}
	}
	return false
}

func (in *Injector) crash(n *Node, downtime time.Duration, where string) {
	now := in.net.Sim().Now()
	in.log = append(in.log, fmt.Sprintf("%s crashed at %v %s, down %v", n.ID, now.Round(time.Microsecond), where, downtime.Round(time.Millisecond)))
	in.net.Crash(n.ID)
	in.last = now
	up := now + downtime
	in.allUp = max(in.allUp, up)
	id := n.ID
	in.net.Sim().At(up, func() {
		in.last = in.net.Sim().Now()
		in.net.Restart(id)
	})
}

// Touch records protocol activity now (see [Injector.Last]).
func (in *Injector) Touch() { in.last = in.net.Sim().Now() }

// Last is the virtual time of the last effect, crash, restart or Touch.
func (in *Injector) Last() time.Duration { return in.last }

// AllUp is when the last crashed node restarted (0 without crashes).
func (in *Injector) AllUp() time.Duration { return in.allUp }

// Log describes each crash that struck, in order.
func (in *Injector) Log() []string { return append([]string(nil), in.log...) }

// StuckError reports a run that stopped with work unfinished: the virtual
// time, the nodes that were stuck and why the run stopped.
type StuckError struct {
	At    time.Duration
	Nodes []string
	// Reason: nothing was left to happen (no timer or message could finish
	// the work), the run reached its horizon while still retrying, or the
	// simulation's step limit.
	Reason string
}

// Error says when the run stopped, why, and which nodes were stuck.
func (e *StuckError) Error() string {
	return fmt.Sprintf("the simulation stopped at virtual time %v (%s) with work unfinished: %s", e.At, e.Reason, strings.Join(e.Nodes, "; "))
}

// Stuck builds the StuckError of a run that ended with the given stuck
// descriptions (nil when there are none): stepErr is the error of the
// simulation's run (a step limit), horizon the run's end.
func (in *Injector) Stuck(stuck []string, stepErr error, horizon time.Duration) error {
	if len(stuck) == 0 {
		return nil
	}
	s := in.net.Sim()
	for _, n := range in.net.Nodes() {
		if !in.net.Up(n) {
			stuck = append(stuck, fmt.Sprintf("%s is still down", n))
		}
	}
	if len(stuck) > 8 {
		stuck = append(stuck[:8], fmt.Sprintf("and %d more", len(stuck)-8))
	}
	e := &StuckError{At: s.Now(), Nodes: stuck, Reason: fmt.Sprintf("the end of the run, horizon %v, while still retrying", horizon)}
	switch {
	case stepErr != nil:
		e.Reason = stepErr.Error()
	case s.Pending() == 0:
		e.At = in.last
		e.Reason = "nothing left to happen: no timer or message could finish the work"
	}
	return e
}

// StubPrefix starts the panic message of an exercise stub that has not
// been replaced yet (see package exercise).
const StubPrefix = "not implemented yet: "

// PassStub re-panics with v when v is a stub's "not implemented yet"
// panic. Engines that turn a rule's panic into a reported failure call it
// first, so an unwritten exercise is reported as such, not as a bug.
func PassStub(v any) {
	var msg string
	switch x := v.(type) {
	case string:
		msg = x
	case error:
		msg = x.Error()
	}
	if strings.HasPrefix(msg, StubPrefix) {
		panic(v)
	}
}

package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// NodeID names a node of the simulated network.
type NodeID string

// Handler receives the messages delivered to a node.
type Handler func(from NodeID, msg any)

// Link describes one direction of a network link.
type Link struct {
	// Latency is the base one-way delay.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter). With jitter,
	// messages can overtake each other unless FIFO is set.
	Jitter time.Duration
	// Drop is the probability in [0, 1] that a message is lost.
	Drop float64
	// Duplicate is the probability in [0, 1] that a message is delivered
	// twice (the copy takes its own delay).
	Duplicate float64
	// FIFO keeps messages on this link in send order, like a TCP connection.
	FIFO bool
}

// Validate reports a link setting that makes no sense.
func (l Link) Validate() error {
	switch {
	case l.Latency < 0:
		return fmt.Errorf("link latency %v is negative", l.Latency)
	case l.Jitter < 0:
		return fmt.Errorf("link jitter %v is negative", l.Jitter)
	case !(l.Drop >= 0 && l.Drop <= 1):
		return fmt.Errorf("drop probability %v is outside [0, 1]", l.Drop)
	case !(l.Duplicate >= 0 && l.Duplicate <= 1):
		return fmt.Errorf("duplicate probability %v is outside [0, 1]", l.Duplicate)
	}
	return nil
}

type linkKey struct{ from, to NodeID }

type node struct {
	id        NodeID
	handler   Handler
	up        bool
	timers    map[*Timer]struct{}
	onCrash   func()
	onRestart func()
	restarts  int
}

// Stats counts what happened to messages.
type Stats struct {
	Sent        int // Send calls from nodes that were up
	Delivered   int // handler invocations
	Dropped     int // lost to the link's drop probability
	Duplicated  int // extra copies created
	Partitioned int // refused because a partition or block separated the nodes
	ToDownNode  int // arrived at a node that was down
}

// Network is a simulated network of nodes on one Sim.
type Network struct {
	sim      *Sim
	rng      *rand.Rand
	def      Link
	links    map[linkKey]Link
	lastAt   map[linkKey]Time
	nodes    map[NodeID]*node
	order    []NodeID
	group    map[NodeID]int
	blocked  map[linkKey]bool
	stats    Stats
	trace    *Trace
	describe func(any) string
}

// NewNetwork returns a network on s where every link behaves like def until
// SetLink says otherwise. It panics if def is invalid (a programming error).
func NewNetwork(s *Sim, def Link) *Network {
	if err := def.Validate(); err != nil {
		panic("sim.NewNetwork: " + err.Error())
	}
	return &Network{
		sim: s, rng: s.Rand("sim/network"), def: def,
		links: map[linkKey]Link{}, lastAt: map[linkKey]Time{}, nodes: map[NodeID]*node{},
		blocked: map[linkKey]bool{}, describe: func(m any) string { return fmt.Sprint(m) },
	}
}

// Sim returns the simulation the network runs on.
func (n *Network) Sim() *Sim { return n.sim }

// AddNode adds a node that receives its messages through h.
func (n *Network) AddNode(id NodeID, h Handler) error {
	if id == "" {
		return fmt.Errorf("a node needs a name")
	}
	if _, dup := n.nodes[id]; dup {
		return fmt.Errorf("node %q already exists", id)
	}
	if h == nil {
		return fmt.Errorf("node %q needs a handler", id)
	}
	n.nodes[id] = &node{id: id, handler: h, up: true, timers: map[*Timer]struct{}{}}
	n.order = append(n.order, id)
	return nil
}

// Nodes returns the node names in the order they were added.
func (n *Network) Nodes() []NodeID { return append([]NodeID(nil), n.order...) }

func (n *Network) mustNode(id NodeID) *node {
	nd, ok := n.nodes[id]
	if !ok {
		panic(fmt.Sprintf("sim: unknown node %q", id))
	}
	return nd
}

// SetLink sets both directions of the link between a and b.
func (n *Network) SetLink(a, b NodeID, l Link) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("link %s-%s: %w", a, b, err)
	}
	n.links[linkKey{a, b}] = l
	n.links[linkKey{b, a}] = l
	return nil
}

// SetOneWay sets only the direction from -> to.
func (n *Network) SetOneWay(from, to NodeID, l Link) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("link %s->%s: %w", from, to, err)
	}
	n.links[linkKey{from, to}] = l
	return nil
}

// LinkOf returns the settings of the link from -> to.
func (n *Network) LinkOf(from, to NodeID) Link {
	if l, ok := n.links[linkKey{from, to}]; ok {
		return l
	}
	return n.def
}

// Describe sets how messages are written in traces (default fmt.Sprint).
func (n *Network) Describe(f func(msg any) string) { n.describe = f }

// Partition splits the network: nodes in different groups cannot exchange
// messages. Nodes named in no group form one more group together. It
// replaces any earlier partition (blocks stay).
func (n *Network) Partition(groups ...[]NodeID) error {
	g := map[NodeID]int{}
	for i, grp := range groups {
		for _, id := range grp {
			if _, ok := n.nodes[id]; !ok {
				return fmt.Errorf("partition names unknown node %q", id)
			}
			if _, twice := g[id]; twice {
				return fmt.Errorf("node %q is in two partition groups", id)
			}
			g[id] = i + 1
		}
	}
	n.group = g
	n.note("", fmt.Sprintf("partition %v", groups))
	return nil
}

// Isolate cuts one node off from all others.
func (n *Network) Isolate(id NodeID) error { return n.Partition([]NodeID{id}) }

// Block stops messages from -> to (one way), on top of any partition.
func (n *Network) Block(from, to NodeID) { n.blocked[linkKey{from, to}] = true }

// Heal removes every partition and block.
func (n *Network) Heal() {
	n.group = nil
	n.blocked = map[linkKey]bool{}
	n.note("", "heal")
}

// CanReach reports whether a message from -> to would get through the
// current partitions and blocks (ignoring loss and crashes).
func (n *Network) CanReach(from, to NodeID) bool {
	if n.blocked[linkKey{from, to}] {
		return false
	}
	if n.group == nil {
		return true
	}
	return n.group[from] == n.group[to]
}

// Send sends msg from -> to. A node that is down sends nothing. The message
// may be refused by a partition, lost, duplicated or delayed, according to
// the link; it is dropped on arrival if the receiver is down then.
func (n *Network) Send(from, to NodeID, msg any) {
	src := n.mustNode(from)
	n.mustNode(to)
	if !src.up {
		return
	}
	n.stats.Sent++
	if !n.CanReach(from, to) {
		n.stats.Partitioned++
		n.recordMsg(Lost, from, to, msg, "partitioned")
		return
	}
	l := n.LinkOf(from, to)
	if l.Drop > 0 && n.rng.Float64() < l.Drop {
		n.stats.Dropped++
		n.recordMsg(Lost, from, to, msg, "dropped")
		return
	}
	copies := 1
	if l.Duplicate > 0 && n.rng.Float64() < l.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	n.recordMsg(Sent, from, to, msg, "")
	for c := 0; c < copies; c++ {
		d := l.Latency
		if l.Jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(l.Jitter)))
		}
		at := n.sim.now + d
		key := linkKey{from, to}
		if l.FIFO {
			if last := n.lastAt[key]; at < last {
				at = last
			}
			n.lastAt[key] = at
		}
		n.sim.At(at, func() { n.deliver(from, to, msg) })
	}
}

func (n *Network) deliver(from, to NodeID, msg any) {
	dst := n.nodes[to]
	if !dst.up {
		n.stats.ToDownNode++
		n.recordMsg(Lost, from, to, msg, "receiver down")
		return
	}
	n.stats.Delivered++
	n.recordMsg(Delivered, from, to, msg, "")
	dst.handler(from, msg)
}

// Stats returns the message counters.
func (n *Network) Stats() Stats { return n.stats }

// Up reports whether a node is running.
func (n *Network) Up(id NodeID) bool { return n.mustNode(id).up }

// OnCrash sets a hook that runs when id crashes (before its timers stop).
func (n *Network) OnCrash(id NodeID, fn func()) { n.mustNode(id).onCrash = fn }

// OnRestart sets a hook that runs when id restarts: the node's recovery
// from its durable state belongs there.
func (n *Network) OnRestart(id NodeID, fn func()) { n.mustNode(id).onRestart = fn }

// Crash stops a node: its timers are cancelled, messages to it are lost
// until it restarts, and it sends nothing.
func (n *Network) Crash(id NodeID) {
	nd := n.mustNode(id)
	if !nd.up {
		return
	}
	if nd.onCrash != nil {
		nd.onCrash()
	}
	nd.up = false
	for t := range nd.timers {
		t.Stop()
	}
	nd.timers = map[*Timer]struct{}{}
	n.record(Event{Kind: Crashed, From: id})
}

// Restart brings a crashed node back and runs its restart hook.
func (n *Network) Restart(id NodeID) {
	nd := n.mustNode(id)
	if nd.up {
		return
	}
	nd.up = true
	nd.restarts++
	n.record(Event{Kind: Restarted, From: id})
	if nd.onRestart != nil {
		nd.onRestart()
	}
}

// Restarts returns how many times a node has restarted.
func (n *Network) Restarts(id NodeID) int { return n.mustNode(id).restarts }

// Timer schedules fn after d on behalf of node owner: it does not fire if
// the owner is down, and a crash cancels it.
func (n *Network) Timer(owner NodeID, d time.Duration, fn func()) *Timer {
	nd := n.mustNode(owner)
	var t *Timer
	t = n.sim.After(d, func() {
		delete(nd.timers, t)
		if nd.up {
			fn()
		}
	})
	if nd.up {
		nd.timers[t] = struct{}{}
		t.onStop = func() { delete(nd.timers, t) }
	} else {
		t.Stop()
	}
	return t
}

// Note adds a free-text note about a node to the trace (if recording).
func (n *Network) Note(id NodeID, text string) { n.note(id, text) }

func (n *Network) note(id NodeID, text string) {
	n.record(Event{Kind: Noted, From: id, Note: text})
}

// Record starts recording a trace of at most max events (older ones are
// kept; later ones counted but not stored).
func (n *Network) Record(max int) *Trace {
	n.trace = &Trace{max: max}
	return n.trace
}

// Trace returns the recorded trace (nil when not recording).
func (n *Network) Trace() *Trace { return n.trace }

// recordMsg records a message event; the message is described only when a
// trace is being recorded, so untraced runs pay nothing for formatting.
func (n *Network) recordMsg(kind EventKind, from, to NodeID, msg any, note string) {
	if n.trace == nil {
		return
	}
	n.record(Event{Kind: kind, From: from, To: to, Msg: n.describe(msg), Note: note})
}

func (n *Network) record(e Event) {
	if n.trace == nil {
		return
	}
	e.At = n.sim.now
	n.trace.add(e)
}

// SortedNodes returns node names sorted, a convenience for stable output.
func SortedNodes(ids []NodeID) []NodeID {
	out := append([]NodeID(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

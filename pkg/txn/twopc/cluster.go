package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// Txn is one transaction submitted to a [Cluster].
type Txn struct {
	// Keys holds the key each participant locks, by participant index; nil
	// gives every participant its own key, unique to the transaction.
	Keys []string
	// VoteNo marks the participants that vote NO, by participant index.
	VoteNo []bool
}

// Cluster is a running 2PC system: a coordinator and participants on a
// simulated network. [Run] drives one transaction through it; experiments
// with many transactions use [NewCluster], [Cluster.Begin] and
// [Cluster.Finish].
type Cluster struct {
	cfg     Config
	sim     *sim.Sim
	net     *sim.Network
	trace   *sim.Trace
	names   []string
	coord   *coordinator
	parts   []*participant
	txns    []*txnStat
	ruleErr []string
	inj     *fault.Injector
	// OnDecided, when set, is called when the coordinator has decided a
	// transaction and could answer its client.
	OnDecided func(txn int, d Decision, at time.Duration)
	finished  bool
}

// txnStat is what the cluster measures of one transaction.
type txnStat struct {
	spec      Txn
	keys      []string
	begin     time.Duration
	decided   time.Duration
	decision  Decision
	lockAt    []time.Duration
	lockHeld  []time.Duration
	doubtAt   []time.Duration
	inDoubt   []time.Duration
	conflicts []string
}

type nodeBase struct {
	id sim.NodeID
	fn *fault.Node
}

const never = time.Duration(-1)

// NewCluster builds a cluster from cfg (validated) with no transaction yet.
func NewCluster(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := sim.New(cfg.Seed)
	c := &Cluster{cfg: cfg, sim: s, net: sim.NewNetwork(s, cfg.Link), names: cfg.Participants}
	if cfg.Trace > 0 {
		c.trace = c.net.Record(cfg.Trace)
		c.net.Describe(describe)
	} else {
		c.net.Describe(func(any) string { return "" })
	}
	c.inj = fault.New(c.net, cfg.Crashes)
	c.coord = &coordinator{c: c, nodeBase: nodeBase{id: Coordinator, fn: c.inj.Node(Coordinator)}}
	if err := c.net.AddNode(Coordinator, c.coord.handle); err != nil {
		return nil, err
	}
	c.net.OnCrash(Coordinator, c.coord.crash)
	c.net.OnRestart(Coordinator, c.coord.recover)
	for i, name := range cfg.Participants {
		p := &participant{c: c, idx: i, nodeBase: nodeBase{id: sim.NodeID(name), fn: c.inj.Node(sim.NodeID(name))}, locks: map[string]*lockq{}}
		c.parts = append(c.parts, p)
		if err := c.net.AddNode(p.id, p.handle); err != nil {
			return nil, err
		}
		c.net.OnCrash(p.id, p.crash)
		c.net.OnRestart(p.id, p.recover)
	}
	return c, nil
}

// Sim returns the simulation the cluster runs on.
func (c *Cluster) Sim() *sim.Sim { return c.sim }

// Network returns the simulated network.
func (c *Cluster) Network() *sim.Network { return c.net }

// Begin submits a transaction now and returns its number (0, 1, ...).
func (c *Cluster) Begin(t Txn) (int, error) {
	n := len(c.names)
	if t.Keys != nil && len(t.Keys) != n {
		return 0, fmt.Errorf("twopc: transaction has %d keys for %d participants", len(t.Keys), n)
	}
	if t.VoteNo != nil && len(t.VoteNo) != n {
		return 0, fmt.Errorf("twopc: transaction has %d VoteNo entries for %d participants", len(t.VoteNo), n)
	}
	id := len(c.txns)
	keys := t.Keys
	if keys == nil {
		keys = make([]string, n)
		own := "t" + strconv.Itoa(id+1)
		for i := range keys {
			keys[i] = own
		}
	}
	st := &txnStat{spec: t, keys: keys, begin: c.sim.Now(), decided: never,
		lockAt: make([]time.Duration, n), lockHeld: make([]time.Duration, n),
		doubtAt: make([]time.Duration, n), inDoubt: make([]time.Duration, n)}
	for i := 0; i < n; i++ {
		st.lockAt[i], st.doubtAt[i] = never, never
	}
	c.txns = append(c.txns, st)
	c.coord.log, c.coord.txns = append(c.coord.log, nil), append(c.coord.txns, nil)
	for _, p := range c.parts {
		p.log, p.txns = append(p.log, nil), append(p.txns, nil)
	}
	c.coord.begin(int32(id))
	return id, nil
}

// index returns participant id's position, -1 for a node that is not a
// participant.
func (c *Cluster) index(id sim.NodeID) int {
	for i, p := range c.parts {
		if p.id == id {
			return i
		}
	}
	return -1
}

func (c *Cluster) before(n *nodeBase, a fault.Act) bool { return c.inj.Before(n.fn, a) }

func (c *Cluster) after(n *nodeBase, a fault.Act) { c.inj.After(n.fn, a) }

func (c *Cluster) note(id sim.NodeID, text string) {
	if c.trace != nil {
		c.net.Note(id, text)
	}
}

func (c *Cluster) send(from *nodeBase, to sim.NodeID, m message, verb string) {
	c.inj.Send(from.fn, to, m, verb)
}

func (c *Cluster) ruleFailed(node sim.NodeID, format string, args ...any) {
	msg := fmt.Sprintf("%s at virtual time %v: ", node, c.sim.Now()) + fmt.Sprintf(format, args...)
	if len(c.ruleErr) < 10 {
		c.ruleErr = append(c.ruleErr, msg)
	}
}

// Finish runs the simulation to the end (every transaction resolved, or the
// horizon) and returns the result. Call it once.
func (c *Cluster) Finish() *Result {
	var stepErr error
	if !c.finished {
		c.finished = true
		// A livelock at one virtual instant never reaches the horizon: stop
		// it after far more events than the transactions could need.
		c.sim.SetMaxSteps(uint64(max(2_000_000, 20_000*len(c.txns))))
		stepErr = c.sim.RunUntil(c.cfg.Horizon)
	}
	return c.result(stepErr)
}

// Run runs one transaction through a cluster built from cfg, with the
// crashes of cfg.Crashes, and returns what happened. The error is for an
// invalid configuration; what went wrong in the run (a violation, a stuck
// transaction, a rule that failed) is in the result.
func Run(cfg Config) (*Result, error) {
	c, err := NewCluster(cfg)
	if err != nil {
		return nil, err
	}
	var t Txn
	if len(cfg.VoteNo) > 0 {
		t.VoteNo = make([]bool, len(cfg.Participants))
		for _, v := range cfg.VoteNo {
			t.VoteNo[slices.Index(cfg.Participants, v)] = true
		}
	}
	if _, err := c.Begin(t); err != nil {
		return nil, err
	}
	return c.Finish(), nil
}

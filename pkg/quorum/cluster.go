package quorum

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/quorum/replica"
	"github.com/dsgym/dsgym/pkg/sim"
)

// localHop is the delay between a client and the coordinator in its region,
// each way, and localWrite the delay of a node's message to itself.
const (
	localHop   = sim.SameRegionAZ
	localWrite = 50 * time.Microsecond
)

// ErrUnavailable is wrapped by the errors of operations a coordinator
// refused because it could not gather its quorum in time.
var ErrUnavailable = errors.New("unavailable")

type entry struct {
	value string
	ver   replica.Version
}

func newer(a, b entry) entry {
	if b.ver.Newer(a.ver) {
		return b
	}
	return a
}

type node struct {
	idx    int
	id     sim.NodeID
	region sim.Region
	store  map[string]entry
	hints  map[string]map[int]entry // key -> home node -> hinted copy
	seq    uint64
	skew   time.Duration
	ticker bool // a handoff timer is scheduled
}

// messages between nodes
type (
	writeMsg struct {
		op      uint64 // 0: no acknowledgement wanted
		key     string
		e       entry
		hintFor int // >= 0: keep as a hint for that home node
		kind    byte
	}
	writeAck struct {
		op      uint64
		from    int
		hintFor int
	}
	readMsg struct {
		op  uint64
		key string
	}
	readReply struct {
		op   uint64
		from int
		e    entry
	}
	handoffAck struct {
		key  string
		home int
		ver  replica.Version
	}
)

// kinds of writeMsg
const (
	kindWrite byte = iota
	kindRepair
	kindHandoff
)

// Result is what a client learns about one operation.
type Result struct {
	// Err is nil when the operation succeeded; refused operations wrap
	// ErrUnavailable.
	Err error
	// Found, Value and Version are a read's answer.
	Found   bool
	Value   string
	Version replica.Version
	// Latency is the time from the client's call to its answer.
	Latency time.Duration
}

type opState struct {
	id       uint64
	coord    *node
	write    bool
	key      string
	e        entry // a write's entry; a read's winner during write-back
	r, w     int
	homes    []int
	covered  uint64 // home replicas that acknowledged (directly or via a hint)
	acks     int
	tried    uint64 // nodes sent the operation
	replies  []replica.Reply
	repliedB uint64 // nodes that replied to a read
	writing  bool   // a read in its write-back phase
	done     bool   // the client has its answer
	linger   bool   // a read that repairs late replies after answering
	repaired uint64 // nodes sent a read repair
	timer    *sim.Timer
	finish   func(Result)
	start    sim.Time
}

// Counters count what the cluster did.
type Counters struct {
	// Repairs counts read-repair writes sent, WriteBacks the reads that had
	// to write back before answering.
	Repairs, WriteBacks int
	// Hinted counts writes stored as hints by a node that is not a home
	// replica, HandedOff the hints delivered home.
	Hinted, HandedOff int
	// ResolveErrors counts reads whose Read function returned an error.
	ResolveErrors int
}

// Cluster is a running simulated cluster. It is not safe for concurrent
// use: drive it from the simulation's events.
type Cluster struct {
	cfg       Config
	sim       *sim.Sim
	net       *sim.Network
	nodes     []*node
	byName    map[string]int
	homeCache map[string][]int
	ops       map[uint64]*opState
	nextOp    uint64
	counts    Counters
	rec       *linz.Recorder
	copies    map[replica.Version]*copyTrack
	clients   int
	pending   int // client operations not yet answered
	panicV    any
}

// copyTrack follows one acknowledged write: when it was acknowledged and
// when it first sat on two nodes.
type copyTrack struct {
	nodes    uint64
	ackAt    sim.Time
	acked    bool
	firstAt  sim.Time
	secondAt sim.Time
	ver      replica.Version
}

// New builds a cluster from a valid configuration.
func New(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := sim.New(cfg.Seed)
	net := sim.NewNetwork(s, sim.Link{Latency: time.Millisecond})
	c := &Cluster{cfg: cfg, sim: s, net: net, byName: map[string]int{}, homeCache: map[string][]int{}, ops: map[uint64]*opState{},
		rec: linz.NewRecorder(), copies: map[replica.Version]*copyTrack{}}
	count := map[sim.Region]int{}
	for _, r := range cfg.Regions {
		count[r]++
	}
	seen := map[sim.Region]int{}
	for i, r := range cfg.Regions {
		seen[r]++
		id := sim.NodeID(r)
		if count[r] > 1 {
			id = sim.NodeID(fmt.Sprintf("%s-%d", r, seen[r]))
		}
		nd := &node{idx: i, id: id, region: r, store: map[string]entry{}, hints: map[string]map[int]entry{}}
		if cfg.ClockSkew != nil {
			nd.skew = cfg.ClockSkew[i]
		}
		c.nodes = append(c.nodes, nd)
		c.byName[string(id)] = i
		if err := net.AddNode(id, c.handler(nd)); err != nil {
			return nil, err
		}
	}
	for i, a := range c.nodes {
		if err := net.SetLink(a.id, a.id, sim.Link{Latency: localWrite}); err != nil {
			return nil, err
		}
		for _, b := range c.nodes[i+1:] {
			l, err := sim.RegionLink(a.region, b.region, cfg.Jitter)
			if err != nil {
				return nil, err
			}
			if err := net.SetLink(a.id, b.id, l); err != nil {
				return nil, err
			}
		}
	}
	net.Describe(describe)
	return c, nil
}

func describe(m any) string {
	switch x := m.(type) {
	case *writeMsg:
		what := map[byte]string{kindWrite: "write", kindRepair: "repair", kindHandoff: "handoff"}[x.kind]
		if x.hintFor >= 0 {
			what += " (hint)"
		}
		return fmt.Sprintf("%s %s=%s", what, x.key, x.e.value)
	case *writeAck:
		return "ack"
	case *readMsg:
		return "read " + x.key
	case *readReply:
		if x.e.ver.IsZero() {
			return "reply none"
		}
		return "reply " + x.e.value
	case *handoffAck:
		return "handoff ack"
	}
	return fmt.Sprint(m)
}

// Sim returns the simulation the cluster runs on.
func (c *Cluster) Sim() *sim.Sim { return c.sim }

// Net returns the cluster's network (for partitions, traces, statistics).
func (c *Cluster) Net() *sim.Network { return c.net }

// Config returns the configuration, defaults filled in.
func (c *Cluster) Config() Config { return c.cfg }

// open returns how many client operations are waiting for an answer.
func (c *Cluster) open() int { return c.pending }

// Counters returns what the cluster has done so far.
func (c *Cluster) Counters() Counters { return c.counts }

// History returns the history of every client operation so far.
func (c *Cluster) History() linz.History { return c.rec.History() }

// Nodes returns the node names in ring order.
func (c *Cluster) Nodes() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = string(n.id)
	}
	return out
}

// Homes returns the names of key's home replicas, in ring order from the
// key's hash.
func (c *Cluster) Homes(key string) []string {
	var out []string
	for _, i := range c.homes(key) {
		out = append(out, string(c.nodes[i].id))
	}
	return out
}

// homes returns the indices of key's home replicas (cached: do not modify).
func (c *Cluster) homes(key string) []int {
	if hs, ok := c.homeCache[key]; ok {
		return hs
	}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	start := int(h % uint32(len(c.nodes)))
	out := make([]int, c.cfg.N)
	for i := range out {
		out[i] = (start + i) % len(c.nodes)
	}
	c.homeCache[key] = out
	return out
}

// Stored returns what node holds for key in its own store (not its hints).
func (c *Cluster) Stored(nodeName, key string) (value string, ver replica.Version, found bool, err error) {
	i, ok := c.byName[nodeName]
	if !ok {
		return "", replica.Version{}, false, fmt.Errorf("no node %q (nodes: %v)", nodeName, c.Nodes())
	}
	e, ok := c.nodes[i].store[key]
	return e.value, e.ver, ok, nil
}

// Divergent returns, sorted, the keys on which some home replica lacks the
// newest version that another home replica has held for longer than
// settled: replicas left behind, not writes still in flight (use 0 to count
// every disagreement).
func (c *Cluster) Divergent(settled time.Duration) []string {
	keys := map[string]bool{}
	for _, n := range c.nodes {
		for k := range n.store {
			keys[k] = true
		}
	}
	now := c.sim.Now()
	var out []string
	for k := range keys {
		var newest replica.Version
		homes := c.homes(k)
		for _, h := range homes {
			if v := c.nodes[h].store[k].ver; v.Newer(newest) {
				newest = v
			}
		}
		t := c.copies[newest]
		if t != nil && now-t.firstAt <= settled {
			continue
		}
		for _, h := range homes {
			if c.nodes[h].store[k].ver != newest {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// Partition splits the nodes into sides by region (regions named on no side
// form one more side together) and notes it in the history.
func (c *Cluster) Partition(sides ...[]sim.Region) error {
	groups := make([][]sim.NodeID, len(sides))
	for i, side := range sides {
		for _, r := range side {
			found := false
			for _, n := range c.nodes {
				if n.region == r {
					groups[i] = append(groups[i], n.id)
					found = true
				}
			}
			if !found {
				return fmt.Errorf("partition names region %q, which has no node (nodes: %v)", r, c.Nodes())
			}
		}
	}
	if err := c.net.Partition(groups...); err != nil {
		return err
	}
	c.rec.Note(c.sim.Now(), fmt.Sprintf("partition %v", sides))
	return nil
}

// Heal ends every partition and notes it in the history.
func (c *Cluster) Heal() {
	c.net.Heal()
	c.rec.Note(c.sim.Now(), "heal")
}

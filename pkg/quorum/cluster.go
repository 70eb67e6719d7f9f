package quorum

import (
	"errors"
	"fmt"
	"math/bits"
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

// Client is a client in one region, served by the node of that region.
type Client struct {
	c    *Cluster
	id   int
	node *node
}

// Client returns a new client served by the first node in region r.
func (c *Cluster) Client(r sim.Region) (*Client, error) {
	for _, n := range c.nodes {
		if n.region == r {
			cl := &Client{c: c, id: c.clients, node: n}
			c.clients++
			return cl, nil
		}
	}
	return nil, fmt.Errorf("no node in region %q (regions: %v)", r, c.cfg.Regions)
}

// ID returns the client's number (its lane in timelines).
func (cl *Client) ID() int { return cl.id }

// Node returns the name of the node that coordinates the client's
// operations.
func (cl *Client) Node() string { return string(cl.node.id) }

// Put writes value to key at level l and calls done with the outcome (from
// inside the simulation). Values written to one key must be distinct for the
// history's checks to trace reads; Run's workload makes them so. It returns
// the operation's index in the history.
func (cl *Client) Put(key, value string, l Level, tag string, done func(Result)) int {
	return cl.call(true, key, value, l, tag, done)
}

// Get reads key at level l and calls done with the outcome. It returns the
// operation's index in the history.
func (cl *Client) Get(key string, l Level, tag string, done func(Result)) int {
	return cl.call(false, key, "", l, tag, done)
}

func (cl *Client) call(write bool, key, value string, l Level, tag string, done func(Result)) int {
	c := cl.c
	kind := linz.Read
	if write {
		kind = linz.Write
	}
	start := c.sim.Now()
	c.pending++
	id := c.rec.Call(cl.id, kind, key, value, start)
	if tag != "" {
		c.rec.Tag(id, tag)
	}
	answer := func(res Result) {
		c.sim.After(localHop, func() {
			c.pending--
			now := c.sim.Now()
			res.Latency = now - start
			if res.Err != nil {
				_ = c.rec.Fail(id, now)
			} else {
				_ = c.rec.Return(id, res.Value, res.Found, now)
				if write {
					if t := c.copies[res.Version]; t != nil {
						t.acked, t.ackAt = true, now
					}
				}
			}
			if done != nil {
				done(res)
			}
		})
	}
	r, w, err := l.resolve(c.cfg)
	if err != nil {
		answer(Result{Err: err})
		return id
	}
	c.sim.After(localHop, func() {
		if !c.net.Up(cl.node.id) {
			c.sim.After(c.cfg.Timeout, func() {
				answer(Result{Err: fmt.Errorf("%w: coordinator %s is down", ErrUnavailable, cl.node.id)})
			})
			return
		}
		c.coordinate(cl.node, write, key, value, r, w, c.cfg.Sloppy && !l.Strict, answer)
	})
	return id
}

// coordinate starts an operation at coordinator co.
func (c *Cluster) coordinate(co *node, write bool, key, value string, r, w int, sloppy bool, finish func(Result)) {
	c.nextOp++
	op := &opState{id: c.nextOp, coord: co, write: write, key: key, r: r, w: w, homes: c.homes(key), finish: finish, start: c.sim.Now()}
	c.ops[op.id] = op
	if write {
		co.seq++
		op.e = entry{value: value, ver: replica.Version{Stamp: int64(c.sim.Now() + co.skew), Node: co.idx, Seq: co.seq}}
		c.copies[op.e.ver] = &copyTrack{}
		for _, h := range op.homes {
			op.tried |= 1 << h
			c.net.Send(co.id, c.nodes[h].id, &writeMsg{op: op.id, key: key, e: op.e, hintFor: -1})
		}
	} else {
		op.replies = make([]replica.Reply, 0, len(op.homes))
		for _, h := range op.homes {
			op.tried |= 1 << h
			c.net.Send(co.id, c.nodes[h].id, &readMsg{op: op.id, key: key})
		}
	}
	if sloppy && c.cfg.SloppyAfter < c.cfg.Timeout {
		c.net.Timer(co.id, c.cfg.SloppyAfter, func() { c.goSloppy(op) })
	}
	op.timer = c.net.Timer(co.id, c.cfg.Timeout, func() { c.timeout(op) })
}

func (c *Cluster) end(op *opState, res Result) {
	if op.done {
		return
	}
	op.done = true
	op.finish(res)
	if op.linger && bits.OnesCount64(op.repliedB) < len(op.homes) {
		return // keep listening for late replies, to repair them, until the timer fires
	}
	delete(c.ops, op.id)
	op.timer.Stop()
}

func (c *Cluster) timeout(op *opState) {
	if op.done {
		delete(c.ops, op.id)
		return
	}
	var err error
	switch {
	case op.write:
		err = fmt.Errorf("%w: %d of W=%d replicas acknowledged the write within %v", ErrUnavailable, op.acks, op.w, c.cfg.Timeout)
	case op.writing:
		err = fmt.Errorf("%w: the read could not write its answer back to W=%d replicas within %v", ErrUnavailable, op.w, c.cfg.Timeout)
	default:
		err = fmt.Errorf("%w: %d of R=%d replicas answered the read within %v", ErrUnavailable, bits.OnesCount64(op.repliedB), op.r, c.cfg.Timeout)
	}
	op.linger = false
	c.end(op, Result{Err: err})
}

// goSloppy sends the operation to nodes outside the key's home replicas,
// one for each home replica that has not answered yet.
func (c *Cluster) goSloppy(op *opState) {
	if op.done || op.writing {
		return
	}
	var answered uint64
	if op.write {
		answered = op.covered
	} else {
		answered = op.repliedB
	}
	missing := 0
	for _, h := range op.homes {
		if answered&(1<<h) == 0 {
			missing++
		}
	}
	if op.write && op.acks >= op.w || !op.write && bits.OnesCount64(op.repliedB) >= op.r {
		return
	}
	start := op.homes[len(op.homes)-1]
	for step := 1; step < len(c.nodes) && missing > 0; step++ {
		f := (start + step) % len(c.nodes)
		if op.tried&(1<<f) != 0 {
			continue
		}
		// the home replica this fallback stands in for
		home := -1
		for _, h := range op.homes {
			if answered&(1<<h) == 0 {
				home = h
				answered |= 1 << h
				break
			}
		}
		op.tried |= 1 << f
		missing--
		if op.write {
			c.net.Send(op.coord.id, c.nodes[f].id, &writeMsg{op: op.id, key: op.key, e: op.e, hintFor: home})
		} else {
			c.net.Send(op.coord.id, c.nodes[f].id, &readMsg{op: op.id, key: op.key})
		}
	}
}

func (c *Cluster) handler(nd *node) sim.Handler {
	return func(from sim.NodeID, msg any) {
		switch m := msg.(type) {
		case *writeMsg:
			c.onWrite(nd, from, m)
		case *writeAck:
			if op := c.ops[m.op]; op != nil && op.coord == nd {
				c.onWriteAck(op, m)
			}
		case *readMsg:
			e := nd.store[m.key]
			for _, h := range nd.hints[m.key] {
				e = newer(e, h)
			}
			c.net.Send(nd.id, from, &readReply{op: m.op, from: nd.idx, e: e})
		case *readReply:
			if op := c.ops[m.op]; op != nil && op.coord == nd {
				c.onReadReply(op, m)
			}
		case *handoffAck:
			if hs := nd.hints[m.key]; hs != nil {
				if h, ok := hs[m.home]; ok && !h.ver.Newer(m.ver) {
					delete(hs, m.home)
					c.counts.HandedOff++
					if len(hs) == 0 {
						delete(nd.hints, m.key)
					}
				}
			}
		}
	}
}

func (c *Cluster) onWrite(nd *node, from sim.NodeID, m *writeMsg) {
	if m.hintFor >= 0 && m.hintFor != nd.idx {
		hs := nd.hints[m.key]
		if hs == nil {
			hs = map[int]entry{}
			nd.hints[m.key] = hs
		}
		hs[m.hintFor] = newer(hs[m.hintFor], m.e)
		c.counts.Hinted++
		c.startHandoff(nd)
	} else if cur, ok := nd.store[m.key]; !ok || m.e.ver.Newer(cur.ver) {
		nd.store[m.key] = m.e
	}
	if t := c.copies[m.e.ver]; t != nil && t.nodes&(1<<nd.idx) == 0 {
		if t.nodes == 0 {
			t.firstAt = c.sim.Now()
		}
		t.nodes |= 1 << nd.idx
		if bits.OnesCount64(t.nodes) == 2 {
			t.secondAt = c.sim.Now()
		}
	}
	switch {
	case m.kind == kindHandoff:
		c.net.Send(nd.id, from, &handoffAck{key: m.key, home: nd.idx, ver: m.e.ver})
	case m.op != 0:
		c.net.Send(nd.id, from, &writeAck{op: m.op, from: nd.idx, hintFor: m.hintFor})
	}
}

func (c *Cluster) startHandoff(nd *node) {
	if nd.ticker {
		return
	}
	nd.ticker = true
	var tick func()
	tick = func() {
		if len(nd.hints) == 0 {
			nd.ticker = false
			return
		}
		keys := make([]string, 0, len(nd.hints))
		for k := range nd.hints {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			homes := make([]int, 0, len(nd.hints[k]))
			for h := range nd.hints[k] {
				homes = append(homes, h)
			}
			sort.Ints(homes)
			for _, h := range homes {
				c.net.Send(nd.id, c.nodes[h].id, &writeMsg{key: k, e: nd.hints[k][h], hintFor: -1, kind: kindHandoff})
			}
		}
		c.net.Timer(nd.id, c.cfg.HandoffEvery, tick)
	}
	c.net.Timer(nd.id, c.cfg.HandoffEvery, tick)
}

func (c *Cluster) onWriteAck(op *opState, m *writeAck) {
	if op.done {
		return
	}
	who := m.from
	if m.hintFor >= 0 {
		who = m.hintFor
	}
	if op.covered&(1<<who) != 0 {
		return
	}
	op.covered |= 1 << who
	op.acks++
	if op.acks >= op.w {
		if op.writing {
			c.end(op, Result{Found: true, Value: op.e.value, Version: op.e.ver})
		} else {
			c.end(op, Result{Version: op.e.ver})
		}
	}
}

func (c *Cluster) onReadReply(op *opState, m *readReply) {
	op.repliedB |= 1 << m.from
	op.replies = append(op.replies, replica.Reply{Node: string(c.nodes[m.from].id), Found: !m.e.ver.IsZero(), Value: m.e.value, Version: m.e.ver})
	res, err := c.resolve(op.r, op.replies)
	if op.done || op.writing {
		// A late reply, after the answer was decided: repair it if the read
		// function now lists it.
		if err == nil && res.Done && res.Found {
			c.sendRepairs(op, res, op.writing && !op.done)
		}
		if op.done && bits.OnesCount64(op.repliedB) >= len(op.homes) {
			delete(c.ops, op.id)
			op.timer.Stop()
		}
		return
	}
	if err != nil {
		c.counts.ResolveErrors++
		c.end(op, Result{Err: fmt.Errorf("the read function failed: %w", err)})
		return
	}
	if !res.Done {
		return
	}
	answer := Result{Found: res.Found, Value: res.Value, Version: res.Version}
	if !res.Found || c.cfg.Repair == RepairOff {
		c.end(op, answer)
		return
	}
	op.linger = true
	if c.cfg.Repair == RepairAsync {
		c.sendRepairs(op, res, false)
		c.end(op, answer)
		return
	}
	// Blocking: W replicas must hold the answer before the client sees it.
	fresh := uint64(0)
	for _, rep := range op.replies {
		if rep.Found && rep.Version == res.Version {
			fresh |= 1 << c.byName[rep.Node]
		}
	}
	op.writing, op.e, op.covered, op.acks = true, entry{value: res.Value, ver: res.Version}, fresh, bits.OnesCount64(fresh)
	c.sendRepairs(op, res, true)
	if op.acks < op.w {
		// not enough copies among the replies: write back to the replicas
		// that have not answered as well (the second phase of ABD)
		for _, h := range op.homes {
			if op.repliedB&(1<<h) == 0 && op.repaired&(1<<h) == 0 {
				op.repaired |= 1 << h
				c.counts.Repairs++
				c.net.Send(op.coord.id, c.nodes[h].id, &writeMsg{op: op.id, key: op.key, e: op.e, hintFor: -1, kind: kindRepair})
			}
		}
	}
	if op.acks >= op.w {
		c.end(op, answer)
		return
	}
	c.counts.WriteBacks++
}

// sendRepairs sends the read's answer to the replicas res.Repair lists that
// have not been repaired yet; with ack set, their acknowledgements count
// towards the write-back quorum.
func (c *Cluster) sendRepairs(op *opState, res replica.Resolution, ack bool) {
	e := entry{value: res.Value, ver: res.Version}
	var id uint64
	if ack {
		id = op.id
		e = op.e
	}
	for _, name := range res.Repair {
		i, ok := c.byName[name]
		if !ok || op.repaired&(1<<i) != 0 || op.covered&(1<<i) != 0 && ack {
			continue
		}
		op.repaired |= 1 << i
		c.counts.Repairs++
		c.net.Send(op.coord.id, c.nodes[i].id, &writeMsg{op: id, key: op.key, e: e, hintFor: -1, kind: kindRepair})
	}
}

// resolve calls the configured read function, turning a panic into an error
// so that a learner's bug stops the run with a message instead of a crash.
func (c *Cluster) resolve(r int, replies []replica.Reply) (res replica.Resolution, err error) {
	defer func() {
		if v := recover(); v != nil {
			if c.panicV == nil {
				c.panicV = v
			}
			err = fmt.Errorf("it panicked: %v", v)
		}
	}()
	return c.cfg.Read(r, replies[:len(replies):len(replies)])
}

package session

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Messages exchanged on the simulated network.
type (
	// writeReq asks the primary (or, with Sticky, the pinned replica, which
	// forwards it) to write key. client is who gets the acknowledgement.
	writeReq struct {
		id     uint64
		key    string
		client sim.NodeID
	}
	// writeAck acknowledges a write with the log position it was given.
	writeAck struct {
		id     uint64
		lsn    uint64
		client sim.NodeID
	}
	// entry is one log entry on the replication stream.
	entry struct {
		lsn uint64
		key string
	}
	// catchUp asks the primary for the log from position from on.
	catchUp struct{ from uint64 }
	// readReq reads key. With wait > 0 the replica holds the read until it
	// has applied minPos, for at most wait.
	readReq struct {
		id     uint64
		key    string
		minPos uint64
		wait   time.Duration
	}
	// readResp answers a read; behind means the wait ran out first.
	readResp struct {
		id                uint64
		version           uint64
		applied, received uint64
		behind            bool
	}
	// heartbeat reports a replica's log positions to a router.
	heartbeat struct {
		replica           int
		applied, received uint64
		sent              time.Duration
	}
)

func describe(m any) string {
	switch x := m.(type) {
	case writeReq:
		return "write " + x.key
	case writeAck:
		return fmt.Sprintf("ack v%d", x.lsn)
	case entry:
		return fmt.Sprintf("log v%d %s", x.lsn, x.key)
	case catchUp:
		return fmt.Sprintf("catch up from v%d", x.from)
	case readReq:
		if x.wait > 0 {
			return fmt.Sprintf("read %s (token v%d, wait %v)", x.key, x.minPos, x.wait)
		}
		return "read " + x.key
	case readResp:
		if x.behind {
			return fmt.Sprintf("not yet (applied v%d)", x.applied)
		}
		return fmt.Sprintf("v%d (applied v%d)", x.version, x.applied)
	case heartbeat:
		return fmt.Sprintf("heartbeat applied v%d", x.applied)
	}
	return fmt.Sprint(m)
}

// world is one simulation run.
type world struct {
	cfg      Config
	s        *sim.Sim
	net      *sim.Network
	route    RouteFunc
	names    []string
	replicas []*replica
	routers  map[sim.Region]*router
	clients  []*client
	history  History
	shared   []string // the shared keys
	nextID   uint64
	commitAt []time.Duration // commitAt[lsn-1]: when the primary committed lsn
	lag      []time.Duration // commit-to-apply delay of every entry at every replica
	err      error           // the first fatal error (a broken RouteFunc)
	stats    runStats
}

type runStats struct {
	waits, fallbacks, repins int
}

func (w *world) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// replica is one copy of the data. Replica 0 is the primary.
type replica struct {
	w        *world
	idx      int
	id       sim.NodeID
	region   sim.Region
	primary  bool
	store    map[string]uint64
	received uint64
	applied  uint64
	applyAt  time.Duration // when the last scheduled apply happens
	log      []entry       // the primary's log; log[lsn-1]
	queue    []queued      // received, not yet applied, in log order
	asked    uint64        // the position of the last catch-up request
	askedAt  time.Duration // when it was sent
	held     []heldRead
	acks     []heldAck
	rng      *rand.Rand
	silent   bool // down and unreachable (else down and refusing)
	reads    int  // reads answered
	writes   int  // writes accepted from clients (committed or forwarded)
}

type queued struct {
	entry
	at time.Duration // when it is applied
}

type heldRead struct {
	id     uint64
	from   sim.NodeID
	key    string
	minPos uint64
	timer  *sim.Timer
}

type heldAck struct {
	lsn uint64
	ack writeAck
}

func (r *replica) handle(from sim.NodeID, msg any) {
	r.advance()
	switch m := msg.(type) {
	case writeReq:
		r.writes++
		if r.primary {
			r.commit(from, m)
			return
		}
		// A pinned replica forwards the write and answers once it has
		// applied it itself.
		r.w.net.Send(r.id, r.w.replicas[0].id, writeReq{id: m.id, key: m.key, client: m.client})
	case writeAck:
		if r.applied >= m.lsn {
			r.w.net.Send(r.id, m.client, m)
			return
		}
		r.acks = append(r.acks, heldAck{lsn: m.lsn, ack: m})
		r.wakeFor(m.lsn)
	case entry:
		r.receive(m)
	case catchUp:
		if !r.primary {
			return
		}
		for lsn := m.from; lsn >= 1 && lsn <= uint64(len(r.log)); lsn++ {
			r.w.net.Send(r.id, from, r.log[lsn-1])
		}
	case readReq:
		if m.wait <= 0 || r.applied >= m.minPos {
			r.answer(from, m.id, m.key)
			return
		}
		h := heldRead{id: m.id, from: from, key: m.key, minPos: m.minPos}
		id := m.id
		h.timer = r.w.net.Timer(r.id, m.wait, func() { r.expire(id) })
		r.held = append(r.held, h)
		r.wakeFor(m.minPos)
	}
}

// advance applies every received entry whose apply time has come. Entries
// are applied lazily, whenever the replica does something, rather than
// each by its own timer; wakeFor sets a timer when someone waits.
func (r *replica) advance() {
	now := r.w.s.Now()
	for len(r.queue) > 0 && r.queue[0].at <= now {
		q := r.queue[0]
		r.queue = r.queue[1:]
		r.apply(q)
	}
}

// wakeFor makes sure the replica wakes up when it applies lsn, if lsn is
// already received (receive takes care of it otherwise).
func (r *replica) wakeFor(lsn uint64) {
	if len(r.queue) == 0 || lsn <= r.applied || lsn > r.received {
		return
	}
	q := r.queue[lsn-r.queue[0].lsn]
	r.w.net.Timer(r.id, q.at-r.w.s.Now(), r.advance)
}

func (r *replica) answer(to sim.NodeID, id uint64, key string) {
	r.reads++
	r.w.net.Send(r.id, to, readResp{id: id, version: r.store[key], applied: r.applied, received: r.received})
}

func (r *replica) expire(id uint64) {
	r.advance()
	for i, h := range r.held {
		if h.id == id {
			r.held = slices.Delete(r.held, i, i+1)
			r.w.net.Send(r.id, h.from, readResp{id: id, applied: r.applied, received: r.received, behind: true})
			return
		}
	}
}

// commit is the primary's write path: the next log position, applied at
// once, acknowledged, and shipped to every other replica.
func (r *replica) commit(from sim.NodeID, m writeReq) {
	lsn := uint64(len(r.log)) + 1
	e := entry{lsn: lsn, key: m.key}
	r.log = append(r.log, e)
	r.w.commitAt = append(r.w.commitAt, r.w.s.Now())
	r.received, r.applied = lsn, lsn
	r.store[m.key] = lsn
	r.w.net.Send(r.id, from, writeAck{id: m.id, lsn: lsn, client: m.client})
	for _, o := range r.w.replicas[1:] {
		r.w.net.Send(r.id, o.id, e)
	}
}

// receive takes the next log entry off the stream and schedules its apply
// after the replica's lag; entries are applied in log order.
func (r *replica) receive(e entry) {
	if e.lsn <= r.received {
		return // a duplicate, from a catch-up overlapping the stream
	}
	if e.lsn != r.received+1 {
		// A gap: entries were lost while this replica was down.
		r.askCatchUp()
		return
	}
	r.received = e.lsn
	now := r.w.s.Now()
	lag := r.w.cfg.Lag
	if r.w.cfg.ReplicaLag != nil {
		lag = r.w.cfg.ReplicaLag[r.idx]
	}
	if j := r.w.cfg.LagJitter; j > 0 && lag > 0 {
		lag = time.Duration(float64(lag) * (1 - j + 2*j*r.rng.Float64()))
	}
	at := max(r.applyAt, now+lag)
	r.applyAt = at
	r.queue = append(r.queue, queued{entry: e, at: at})
	if len(r.held) > 0 || len(r.acks) > 0 {
		r.w.net.Timer(r.id, at-now, r.advance)
	}
}

func (r *replica) apply(q queued) {
	e := q.entry
	r.applied = e.lsn
	r.store[e.key] = e.lsn
	r.w.lag = append(r.w.lag, q.at-r.w.commitAt[e.lsn-1])
	if len(r.held) > 0 {
		keep := r.held[:0]
		for _, h := range r.held {
			if h.minPos <= r.applied {
				h.timer.Stop()
				r.answer(h.from, h.id, h.key)
			} else {
				keep = append(keep, h)
			}
		}
		r.held = keep
	}
	if len(r.acks) > 0 {
		keep := r.acks[:0]
		for _, a := range r.acks {
			if a.lsn <= r.applied {
				r.w.net.Send(r.id, a.ack.client, a.ack)
			} else {
				keep = append(keep, a)
			}
		}
		r.acks = keep
	}
}

// crashed drops what lives only in memory: held reads and acks, and
// entries received but not applied yet. The applied data is durable.
func (r *replica) crashed() {
	r.advance()
	r.held, r.acks, r.queue = nil, nil, nil
	r.received = r.applied
	r.asked = 0
}

// restarted resumes heartbeats and catches up from the primary.
func (r *replica) restarted() {
	r.applyAt = r.w.s.Now()
	r.beat()
	if !r.primary {
		r.askCatchUp()
	}
}

// askCatchUp asks the primary for the log after what was received, unless
// the same request is already on its way.
func (r *replica) askCatchUp() {
	now := r.w.s.Now()
	if r.asked == r.received+1 && now-r.askedAt < r.w.cfg.Timeout {
		return
	}
	r.asked, r.askedAt = r.received+1, now
	r.w.net.Send(r.id, r.w.replicas[0].id, catchUp{from: r.received + 1})
}

func (r *replica) beat() {
	r.advance()
	now := r.w.s.Now()
	for _, reg := range r.w.cfg.ClientRegions {
		rt := r.w.routers[reg]
		r.w.net.Send(r.id, rt.id, heartbeat{replica: r.idx, applied: r.applied, received: r.received, sent: now})
	}
	r.w.net.Timer(r.id, r.w.cfg.Heartbeat, r.beat)
}

// router is a client region's view of the replicas, fed by heartbeats and
// by the positions piggybacked on answers. The sessions of a region share
// it (think of a proxy or a client library's shared state).
type router struct {
	w         *world
	id        sim.NodeID
	region    sim.Region
	rtt       []time.Duration
	applied   []uint64
	received  []uint64
	heard     []time.Duration // when the last heartbeat arrived
	sent      []time.Duration // when that heartbeat was sent
	suspected []time.Duration // when a timeout made the replica suspect (-1: not)
	byRTT     []int           // replica indexes, nearest first (stable)
	local     []int           // replicas in this region
}

func (rt *router) handle(_ sim.NodeID, msg any) {
	hb, ok := msg.(heartbeat)
	if !ok {
		return
	}
	i := hb.replica
	rt.heard[i], rt.sent[i] = rt.w.s.Now(), hb.sent
	rt.learn(i, hb.applied, hb.received)
	if rt.suspected[i] >= 0 && hb.sent > rt.suspected[i] {
		rt.suspected[i] = -1
	}
}

func (rt *router) learn(i int, applied, received uint64) {
	rt.applied[i] = max(rt.applied[i], applied)
	rt.received[i] = max(rt.received[i], received)
}

func (rt *router) up(i int) bool {
	if rt.suspected[i] >= 0 {
		return false
	}
	return rt.w.s.Now()-rt.heard[i] <= rt.w.cfg.SuspectAfter
}

// entry is the router's view of replica i.
func (rt *router) entry(i int) ReplicaView {
	return ReplicaView{Name: rt.w.names[i], Primary: i == 0, Up: rt.up(i), Received: rt.received[i], Applied: rt.applied[i], RTT: rt.rtt[i]}
}

// balance picks a replica for a read as a region-local load balancer does:
// any replica of the region believed up, else the nearest one up; -1 when
// none is believed up.
func (rt *router) balance(rng *rand.Rand) int {
	n := 0
	for _, i := range rt.local {
		if rt.up(i) {
			n++
		}
	}
	if n > 0 {
		k := rng.IntN(n)
		for _, i := range rt.local {
			if rt.up(i) {
				if k == 0 {
					return i
				}
				k--
			}
		}
	}
	for _, i := range rt.byRTT {
		if rt.up(i) {
			return i
		}
	}
	return -1
}

// client is one session.
type client struct {
	w      *world
	idx    int
	id     sim.NodeID
	region sim.Region
	rt     *router
	// Three random streams: the workload (which operation, which key), the
	// pauses, and routing (load balancing, pins, view order).
	wl, thinkRng, rng *rand.Rand
	own               []string // the session's own keys
	left              int      // operations still to start
	think             time.Duration
	pinned            int
	order             []int         // scratch: the order the session's view lists replicas in
	view              []ReplicaView // scratch: the view handed to the RouteFunc
	token             uint64
	// wrote and lastWrite: whether and when the session's latest write
	// was acknowledged (primary-after-write).
	wrote     bool
	lastWrite time.Duration
	cache     map[string]cached
	cur       pending
	script    []Step // a scripted session (Story) instead of a random one
}

type cached struct {
	version uint64
	until   time.Duration
}

type pending struct {
	active   bool
	id       uint64
	kind     Kind
	key      string
	start    time.Duration
	replica  int
	attempts int
	retried  bool
	waited   time.Duration
	wait     time.Duration
	timer    *sim.Timer
}

func (c *client) next() {
	if c.left == 0 || c.w.err != nil || (c.w.cfg.Duration > 0 && c.w.s.Now() >= c.w.cfg.Duration) {
		return
	}
	c.left--
	cfg := c.w.cfg
	if c.script != nil {
		step := c.script[0]
		c.script = c.script[1:]
		c.cur = pending{active: true, kind: step.Kind, key: step.Key, start: c.w.s.Now()}
		if step.Kind == Write {
			c.sendWrite()
		} else {
			c.sendRead()
		}
		return
	}
	// The workload has its own random stream, so every strategy serves the
	// same operations in the same order.
	kind := Read
	if c.wl.Float64() < cfg.WriteFraction {
		kind = Write
	}
	var key string
	own := cfg.OwnKeys > 0 && (cfg.SharedKeys == 0 || (kind == Read && c.wl.Float64() < cfg.OwnReadFraction) || (kind == Write && c.wl.Float64() >= cfg.SharedWriteFraction))
	if own {
		key = c.own[c.wl.IntN(cfg.OwnKeys)]
	} else {
		key = c.w.shared[c.wl.IntN(cfg.SharedKeys)]
	}
	c.cur = pending{active: true, kind: kind, key: key, start: c.w.s.Now()}
	if kind == Write {
		c.sendWrite()
	} else {
		c.sendRead()
	}
}

func ownKey(session, k int) string { return fmt.Sprintf("s%02d/k%d", session, k) }
func sharedKey(k int) string       { return fmt.Sprintf("shared/%d", k) }

func keys(n int, name func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name(i)
	}
	return out
}

// stickyTarget returns the pinned replica, pinning again when it is
// believed down.
func (c *client) stickyTarget() int {
	if c.pinned >= 0 && c.rt.up(c.pinned) {
		return c.pinned
	}
	if c.pinned >= 0 {
		c.w.stats.repins++
	}
	c.pinned = c.rt.balance(c.rng)
	return c.pinned
}

func (c *client) sendWrite() {
	target := 0
	if c.w.cfg.Strategy == Sticky {
		target = c.stickyTarget()
		if target < 0 {
			c.finish(0, "", false, "no replica believed up")
			return
		}
	}
	c.send(target, writeReq{key: c.cur.key, client: c.id})
}

func (c *client) sendRead() {
	cfg := c.w.cfg
	switch cfg.Strategy {
	case PrimaryAfterWrite:
		if c.wrote && c.w.s.Now()-c.lastWrite < cfg.PrimaryWindow {
			c.send(0, readReq{key: c.cur.key})
			return
		}
		fallthrough
	case None, Cache:
		i := c.rt.balance(c.rng)
		if i < 0 {
			c.finish(0, "", false, "no replica believed up")
			return
		}
		c.send(i, readReq{key: c.cur.key})
	case Sticky:
		i := c.stickyTarget()
		if i < 0 {
			c.finish(0, "", false, "no replica believed up")
			return
		}
		c.send(i, readReq{key: c.cur.key})
	case Token:
		c.routeToken()
	}
}

// routeToken asks the RouteFunc where the read goes, with what is left of
// the wait budget.
func (c *client) routeToken() {
	if c.cur.attempts >= 3 {
		c.finish(0, "", false, "still behind after 3 routing attempts")
		return
	}
	budget := max(0, c.w.cfg.MaxWait-c.cur.waited)
	// The view lists the replicas in an order of the session's own, so that
	// the router's ties (two replicas as near) spread over the replicas.
	order := c.order
	c.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	view := c.view[:len(order)]
	for k, i := range order {
		view[k] = c.rt.entry(i)
	}
	r, err := callRoute(c.w.route, c.token, view, budget)
	if err != nil && !errors.Is(err, ErrNoReplica) {
		c.w.fail(err)
		return
	}
	if err != nil {
		c.finish(0, "", false, "no replica can serve the token: "+err.Error())
		return
	}
	if r.Replica < 0 || r.Replica >= len(c.w.replicas) {
		c.w.fail(fmt.Errorf("RouteRead(token %d, ..., budget %v) chose replica %d; the view has %d (0-%d)", c.token, budget, r.Replica, len(view), len(view)-1))
		return
	}
	r.Replica = order[r.Replica]
	if r.Wait < 0 {
		c.w.fail(fmt.Errorf("RouteRead(token %d, ..., budget %v) returned a negative wait %v", c.token, budget, r.Wait))
		return
	}
	if r.Wait > 0 {
		c.w.stats.waits++
	}
	if c.cur.attempts > 0 && r.Replica == 0 {
		c.w.stats.fallbacks++
	}
	c.cur.wait = r.Wait
	c.send(r.Replica, readReq{key: c.cur.key, minPos: c.token, wait: r.Wait})
}

func (c *client) send(target int, msg any) {
	c.w.nextID++
	id := c.w.nextID
	switch m := msg.(type) {
	case writeReq:
		m.id = id
		msg = m
	case readReq:
		m.id = id
		msg = m
	}
	c.cur.id, c.cur.replica = id, target
	c.cur.attempts++
	if r := c.w.replicas[target]; !c.w.net.Up(r.id) && !r.silent {
		// A crashed process on a live host: the connection is refused.
		c.cur.timer = c.w.net.Timer(c.id, c.rt.rtt[target], func() { c.refused(id) })
		return
	}
	c.cur.timer = c.w.net.Timer(c.id, c.w.cfg.Timeout, func() { c.timeout(id) })
	c.w.net.Send(c.id, c.w.replicas[target].id, msg)
}

// refused handles a refused connection: the request never arrived, so it is
// safe to send again; the client routes it again once, away from the
// replica it now suspects.
func (c *client) refused(id uint64) {
	if !c.cur.active || c.cur.id != id {
		return
	}
	c.rt.suspected[c.cur.replica] = c.w.s.Now()
	if c.cur.retried {
		c.finish(0, c.w.names[c.cur.replica], false, "connection refused")
		return
	}
	c.cur.retried = true
	if c.cur.kind == Write {
		c.sendWrite()
	} else {
		c.sendRead()
	}
}

func (c *client) timeout(id uint64) {
	if !c.cur.active || c.cur.id != id {
		return
	}
	c.rt.suspected[c.cur.replica] = c.w.s.Now()
	c.finish(0, c.w.names[c.cur.replica], false, fmt.Sprintf("timeout after %v", c.w.cfg.Timeout))
}

func (c *client) handle(_ sim.NodeID, msg any) {
	switch m := msg.(type) {
	case writeAck:
		if !c.cur.active || m.id != c.cur.id {
			return
		}
		c.cur.timer.Stop()
		c.token = max(c.token, m.lsn)
		c.wrote, c.lastWrite = true, c.w.s.Now()
		if c.w.cfg.Strategy == Cache && c.w.cfg.CacheTTL > 0 {
			c.cache[c.cur.key] = cached{version: m.lsn, until: c.w.s.Now() + c.w.cfg.CacheTTL}
		}
		c.finish(m.lsn, c.w.names[c.cur.replica], false, "")
	case readResp:
		if !c.cur.active || m.id != c.cur.id {
			return
		}
		c.cur.timer.Stop()
		c.rt.learn(c.cur.replica, m.applied, m.received)
		if m.behind {
			c.cur.waited += c.cur.wait
			c.routeToken()
			return
		}
		version, fromCache := m.version, false
		if e, ok := c.cache[c.cur.key]; ok {
			switch {
			case c.w.s.Now() > e.until:
				delete(c.cache, c.cur.key)
			case version < e.version:
				version, fromCache = e.version, true
			case c.w.cfg.CacheEvictEarly:
				// Known-bad: this replica has caught up, but the next read
				// may go to another that has not.
				delete(c.cache, c.cur.key)
			}
		}
		if c.w.cfg.TokenTracksReads {
			c.token = max(c.token, version)
		}
		c.finish(version, c.w.names[c.cur.replica], fromCache, "")
	}
}

func (c *client) finish(version uint64, replica string, fromCache bool, errText string) {
	now := c.w.s.Now()
	c.w.history = append(c.w.history, Op{Session: c.idx, Kind: c.cur.kind, Key: c.cur.key, Version: version,
		Start: c.cur.start, End: now, Replica: replica, Cached: fromCache, Err: errText})
	c.cur.active = false
	c.w.net.Timer(c.id, c.pause(), c.next)
}

func (c *client) pause() time.Duration {
	if c.script != nil {
		if len(c.script) == 0 {
			return 0
		}
		return c.script[0].After
	}
	if c.think <= 0 {
		return 0
	}
	return time.Duration(c.thinkRng.ExpFloat64() * float64(c.think))
}

// shares splits total among sessions in proportion to their activity
// (rel), by largest remainder, so the parts add up to total exactly.
func shares(total int, rel []float64) []int {
	out := make([]int, len(rel))
	if len(rel) == 0 {
		return out
	}
	sum := 0.0
	for _, r := range rel {
		sum += r
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(rel))
	given := 0
	for i, r := range rel {
		exact := float64(total) * r / sum
		out[i] = int(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.r > b.r:
			return -1
		case a.r < b.r:
			return 1
		}
		return 0
	})
	for k := 0; given < total; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

// thinkScale returns, for each of n sessions, the factor its think time is
// divided by: 1/(i+1)^skew, normalised to a mean of 1. Busier sessions
// think less and so issue more of the shared operations.
func thinkScale(n int, skew float64) []float64 {
	w := make([]float64, n)
	sum := 0.0
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), skew)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum / float64(n)
	}
	return w
}

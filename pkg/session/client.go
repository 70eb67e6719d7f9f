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

package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// ---- messages ----

type msgKind uint8

const (
	msgPrepare msgKind = iota + 1
	msgVote
	msgDecision
	msgAck
	msgQuery
	msgPeerQuery
	msgPeerReply
)

type message struct {
	kind msgKind
	txn  int32
	vote Vote
	dec  Decision
	peer PeerState
}

func describe(v any) string {
	m, ok := v.(message)
	if !ok {
		return fmt.Sprint(v)
	}
	switch m.kind {
	case msgPrepare:
		return "PREPARE"
	case msgVote:
		return "vote " + m.vote.String()
	case msgDecision:
		return m.dec.String()
	case msgAck:
		return "ACK"
	case msgQuery:
		return "outcome?"
	case msgPeerQuery:
		return "peer: outcome?"
	case msgPeerReply:
		return "peer: " + m.peer.String()
	}
	return fmt.Sprint(v)
}

// ---- coordinator ----

type cphase uint8

const (
	cVoting cphase = iota + 1
	cDeciding
	cAcks
	cStalled
)

type ctxn struct {
	phase    cphase
	votes    map[string]Vote
	timer    *sim.Timer
	decision Decision
	acked    []bool
}

type coordinator struct {
	nodeBase
	c    *Cluster
	log  [][]Kind // durable, by transaction
	txns []*ctxn  // volatile, by transaction (nil: none)
}

func (co *coordinator) begin(t int32) {
	c := co.c
	if !c.net.Up(co.id) {
		return // the client's request finds the coordinator down: nothing starts
	}
	ct := &ctxn{phase: cVoting, votes: make(map[string]Vote, len(c.parts))}
	co.txns[t] = ct
	for _, p := range c.parts {
		c.send(&co.nodeBase, p.id, message{kind: msgPrepare, txn: t}, "send PREPARE")
	}
	if c.net.Up(co.id) {
		ct.timer = c.net.Timer(co.id, c.cfg.VoteTimeout, func() {
			if ct.phase == cVoting {
				c.note(co.id, "vote timeout")
				co.phase2(t, ct)
			}
		})
	}
}

func (co *coordinator) handle(from sim.NodeID, v any) {
	c := co.c
	m := v.(message)
	c.inj.Touch()
	switch m.kind {
	case msgVote:
		ct := co.txns[m.txn]
		if ct == nil || ct.phase != cVoting {
			return
		}
		ct.votes[string(from)] = m.vote
		if m.vote == VoteNo || len(ct.votes) == len(c.parts) {
			ct.timer.Stop()
			co.phase2(m.txn, ct)
		}
	case msgAck:
		ct := co.txns[m.txn]
		if ct == nil || ct.phase != cAcks {
			return
		}
		ct.acked[c.index(from)] = true
		if !slices.Contains(ct.acked, false) {
			ct.timer.Stop()
			co.log[m.txn] = append(co.log[m.txn], Ended) // written lazily: losing it only means resending COMMIT
			co.txns[m.txn] = nil
			c.note(co.id, "all ACKs: forget the transaction")
		}
	case msgQuery:
		d := durableDecision(co.log[m.txn])
		if d == NoDecision {
			if ct := co.txns[m.txn]; ct != nil {
				if ct.decision == NoDecision || ct.phase == cStalled {
					return // still deciding: the participant will ask again
				}
				d = ct.decision
			} else {
				d = Abort // presumed abort: no record means no commit
			}
		}
		c.send(&co.nodeBase, from, message{kind: msgDecision, txn: m.txn, dec: d}, answerVerb(d))
	}
}

func (co *coordinator) phase2(t int32, ct *ctxn) {
	c := co.c
	ct.phase = cDeciding
	votes := make(map[string]Vote, len(ct.votes))
	for k, v := range ct.votes {
		votes[k] = v
	}
	effects, err := callPhase2(c.cfg.Rules.Phase2, append([]string(nil), c.names...), votes)
	if err != nil {
		ct.phase = cStalled
		c.ruleFailed(co.id, "Phase2(%v, %s): %v", c.names, formatVotes(c.names, ct.votes), err)
		return
	}
	for _, e := range effects {
		if bad := c.checkEffect(e); bad != "" {
			ct.phase = cStalled
			c.ruleFailed(co.id, "Phase2(%v, %s) returned %s: %s", c.names, formatVotes(c.names, ct.votes), Effects(effects), bad)
			return
		}
	}
	co.run(t, ct, effects, 0)
}

func (c *Cluster) checkEffect(e Effect) string {
	if e.Decision != Commit && e.Decision != Abort {
		return fmt.Sprintf("effect %v has no decision (want Commit or Abort)", e)
	}
	switch e.Kind {
	case LogDecision:
		return ""
	case SendDecision:
		if c.index(sim.NodeID(e.To)) < 0 {
			return fmt.Sprintf("effect %v sends to %q, which is not a participant", e, e.To)
		}
		return ""
	}
	return fmt.Sprintf("effect %v has an unknown kind %d", e, e.Kind)
}

func formatVotes(names []string, votes map[string]Vote) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v, ok := votes[n]
		if ok {
			parts = append(parts, n+":"+v.String())
		} else {
			parts = append(parts, n+":none")
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// run performs effects[i:], waiting for each log write to be durable.
func (co *coordinator) run(t int32, ct *ctxn, effects []Effect, i int) {
	c := co.c
	for ; i < len(effects); i++ {
		e := effects[i]
		if ct.decision == NoDecision {
			ct.decision = e.Decision
		}
		switch e.Kind {
		case LogDecision:
			what := fault.Act{Verb: logVerb(e.Decision)}
			if !c.before(&co.nodeBase, what) {
				return
			}
			next := i + 1
			c.net.Timer(co.id, c.cfg.Fsync, func() {
				co.log[t] = append(co.log[t], kindOf(e.Decision))
				c.note(co.id, what.Verb)
				c.after(&co.nodeBase, what)
				if c.net.Up(co.id) {
					co.run(t, ct, effects, next)
				}
			})
			return
		case SendDecision:
			c.send(&co.nodeBase, sim.NodeID(e.To), message{kind: msgDecision, txn: t, dec: e.Decision}, sendVerb(e.Decision))
			if !c.net.Up(co.id) {
				return
			}
		}
	}
	st := c.txns[t]
	st.decision = ct.decision
	if st.decided == never {
		st.decided = c.sim.Now()
		if c.OnDecided != nil {
			c.OnDecided(int(t), ct.decision, st.decided)
		}
	}
	if ct.decision == Commit {
		ct.phase = cAcks
		ct.acked = make([]bool, len(c.parts))
		co.awaitAcks(t, ct, c.cfg.AckTimeout)
		return
	}
	co.txns[t] = nil // abort (or nothing decided): presumed abort needs no more
}

// awaitAcks resends COMMIT to the participants that have not acknowledged
// it, after d and then backing off (doubling up to 16 AckTimeouts): a
// participant that was down asks by itself when it recovers, so the
// resends only cover lost messages.
func (co *coordinator) awaitAcks(t int32, ct *ctxn, d time.Duration) {
	c := co.c
	ct.timer = c.net.Timer(co.id, d, func() {
		if ct.phase != cAcks {
			return
		}
		for i, p := range c.parts {
			if !ct.acked[i] {
				c.send(&co.nodeBase, p.id, message{kind: msgDecision, txn: t, dec: Commit}, "resend COMMIT")
			}
		}
		if c.net.Up(co.id) {
			co.awaitAcks(t, ct, min(2*d, 16*c.cfg.AckTimeout))
		}
	})
}

func (co *coordinator) crash() {
	clear(co.txns)
}

func (co *coordinator) recover() {
	c := co.c
	c.note(co.id, "recover from log")
	for i, recs := range co.log {
		t := int32(i)
		if durableDecision(recs) != Commit || slices.Contains(recs, Ended) {
			continue // aborted, forgotten, or never decided: presumed abort
		}
		ct := &ctxn{phase: cAcks, decision: Commit, acked: make([]bool, len(c.parts))}
		co.txns[t] = ct
		for _, p := range c.parts {
			c.send(&co.nodeBase, p.id, message{kind: msgDecision, txn: t, dec: Commit}, "resend COMMIT")
		}
		if c.net.Up(co.id) {
			co.awaitAcks(t, ct, c.cfg.AckTimeout)
		}
	}
}

func logVerb(d Decision) string {
	if d == Commit {
		return "log COMMITTED"
	}
	return "log ABORTED"
}

func answerVerb(d Decision) string {
	if d == Commit {
		return "answer COMMIT"
	}
	return "answer ABORT"
}

func sendVerb(d Decision) string {
	if d == Commit {
		return "send COMMIT"
	}
	return "send ABORT"
}

func kindOf(d Decision) Kind {
	if d == Commit {
		return Committed
	}
	return Aborted
}

// durableDecision returns the decision a log holds (the first one), or
// NoDecision.
func durableDecision(recs []Kind) Decision {
	for _, k := range recs {
		switch k {
		case Committed:
			return Commit
		case Aborted, VotedNo:
			return Abort
		}
	}
	return NoDecision
}

// ---- participant ----

type pphase uint8

const (
	pWaiting   pphase = iota + 1 // queued for the lock
	pPreparing                   // PREPARED being written
	pPrepared                    // in doubt
	pDeciding                    // decision being written
	pDone
	pStalled // a rule failed
)

type ptxn struct {
	phase   pphase
	dec     Decision
	timer   *sim.Timer
	answers []PeerState
}

type lockq struct {
	holder  int32
	waiting []int32
}

type participant struct {
	nodeBase
	c     *Cluster
	idx   int
	log   [][]Kind // durable, by transaction
	txns  []*ptxn  // volatile, by transaction (nil: none)
	locks map[string]*lockq
}

func (p *participant) handle(from sim.NodeID, v any) {
	c := p.c
	m := v.(message)
	c.inj.Touch()
	switch m.kind {
	case msgPrepare:
		p.onPrepare(m.txn)
	case msgDecision:
		p.learn(m.txn, m.dec, "coordinator")
	case msgPeerQuery:
		p.onPeerQuery(from, m.txn)
	case msgPeerReply:
		pt := p.txns[m.txn]
		if pt == nil || pt.phase != pPrepared || !c.cfg.Cooperative {
			return
		}
		q := c.index(from)
		if q > p.idx {
			q--
		}
		pt.answers[q] = m.peer
		d, err := callTerminate(c.cfg.Rules.Terminate, append([]PeerState(nil), pt.answers...))
		if err != nil {
			pt.phase = pStalled
			c.ruleFailed(p.id, "Terminate(%v): %v", pt.answers, err)
			return
		}
		if d != NoDecision {
			c.note(p.id, "peers settle it: "+d.String())
			p.learn(m.txn, d, "peers")
		}
	}
}

func (p *participant) onPrepare(t int32) {
	c := p.c
	st := c.txns[t]
	if recs := p.log[t]; len(recs) > 0 {
		switch durableDecision(recs) {
		case Abort:
			c.send(&p.nodeBase, Coordinator, message{kind: msgVote, txn: t, vote: VoteNo}, "send NO")
		case NoDecision:
			if pt := p.txns[t]; pt != nil && pt.phase == pPrepared {
				c.send(&p.nodeBase, Coordinator, message{kind: msgVote, txn: t, vote: VoteYes}, "send YES")
			}
		}
		return
	}
	if pt := p.txns[t]; pt != nil {
		if pt.phase == pDone && pt.dec == Abort {
			c.send(&p.nodeBase, Coordinator, message{kind: msgVote, txn: t, vote: VoteNo}, "send NO")
		}
		return // a duplicate PREPARE while working on it
	}
	pt := &ptxn{}
	p.txns[t] = pt
	if st.spec.VoteNo != nil && st.spec.VoteNo[p.idx] {
		pt.phase, pt.dec = pDone, Abort
		p.log[t] = append(p.log[t], VotedNo) // not forced: losing it changes nothing
		c.note(p.id, "refuse")
		c.send(&p.nodeBase, Coordinator, message{kind: msgVote, txn: t, vote: VoteNo}, "send NO")
		return
	}
	key := st.keys[p.idx]
	q := p.locks[key]
	if q == nil {
		q = &lockq{holder: -1}
		p.locks[key] = q
	}
	if q.holder >= 0 && q.holder != t {
		pt.phase = pWaiting
		q.waiting = append(q.waiting, t)
		return
	}
	q.holder = t
	p.prepare(t, pt)
}

func (p *participant) prepare(t int32, pt *ptxn) {
	c := p.c
	st := c.txns[t]
	if st.lockAt[p.idx] == never {
		st.lockAt[p.idx] = c.sim.Now()
	}
	pt.phase = pPreparing
	if !c.before(&p.nodeBase, fault.Act{Verb: "log PREPARED"}) {
		return
	}
	c.net.Timer(p.id, c.cfg.Fsync, func() {
		if pt.phase != pPreparing {
			return
		}
		p.log[t] = append(p.log[t], Prepared)
		c.note(p.id, "log PREPARED, locks held")
		pt.phase = pPrepared
		st.doubtAt[p.idx] = c.sim.Now()
		c.after(&p.nodeBase, fault.Act{Verb: "log PREPARED"})
		if !c.net.Up(p.id) {
			return
		}
		p.armQuery(t, pt, c.cfg.QueryInterval)
		c.send(&p.nodeBase, Coordinator, message{kind: msgVote, txn: t, vote: VoteYes}, "send YES")
	})
}

// armQuery asks for the outcome after d, then again with backoff: the
// wait doubles from QueryInterval up to 4 QueryIntervals.
func (p *participant) armQuery(t int32, pt *ptxn, d time.Duration) {
	c := p.c
	pt.timer = c.net.Timer(p.id, d, func() {
		if pt.phase != pPrepared {
			return
		}
		c.send(&p.nodeBase, Coordinator, message{kind: msgQuery, txn: t}, "ask coordinator")
		if c.cfg.Cooperative {
			if pt.answers == nil {
				pt.answers = make([]PeerState, len(c.parts)-1)
			}
			for i := range pt.answers {
				pt.answers[i] = PeerUnknown
			}
			for _, q := range c.parts {
				if q != p {
					c.send(&p.nodeBase, q.id, message{kind: msgPeerQuery, txn: t}, "ask peer")
				}
			}
		}
		if c.net.Up(p.id) {
			p.armQuery(t, pt, min(max(2*d, c.cfg.QueryInterval), 4*c.cfg.QueryInterval))
		}
	})
}

func (p *participant) release(t int32) {
	c := p.c
	st := c.txns[t]
	if st.lockAt[p.idx] != never {
		st.lockHeld[p.idx] += c.sim.Now() - st.lockAt[p.idx]
		st.lockAt[p.idx] = never
	}
	p.endDoubt(t)
	key := st.keys[p.idx]
	q := p.locks[key]
	if q == nil || q.holder != t {
		return
	}
	q.holder = -1
	for len(q.waiting) > 0 {
		next := q.waiting[0]
		q.waiting = q.waiting[1:]
		if pt := p.txns[next]; pt != nil && pt.phase == pWaiting {
			q.holder = next
			p.prepare(next, pt)
			return
		}
	}
}

func (p *participant) endDoubt(t int32) {
	st := p.c.txns[t]
	if st.doubtAt[p.idx] != never {
		st.inDoubt[p.idx] += p.c.sim.Now() - st.doubtAt[p.idx]
		st.doubtAt[p.idx] = never
	}
}

func (p *participant) conflict(t int32, format string, args ...any) {
	st := p.c.txns[t]
	if len(st.conflicts) < 5 {
		st.conflicts = append(st.conflicts, fmt.Sprintf("%s at %v: ", p.id, p.c.sim.Now())+fmt.Sprintf(format, args...))
	}
}

// learn applies an outcome learned from the coordinator or the peers.
func (p *participant) learn(t int32, d Decision, source string) {
	c := p.c
	if d != Commit && d != Abort {
		return
	}
	if dur := durableDecision(p.log[t]); dur != NoDecision {
		if dur != d {
			p.conflict(t, "its log says %v, but the %s say %v", dur, sourceNoun(source), d)
		}
		if pt := p.txns[t]; pt != nil && pt.phase != pDone {
			pt.phase = pDone
			pt.timer.Stop()
		}
		if d == Commit && source == "coordinator" {
			c.send(&p.nodeBase, Coordinator, message{kind: msgAck, txn: t}, "send ACK")
		}
		return
	}
	pt := p.txns[t]
	if pt == nil {
		if d == Commit {
			p.conflict(t, "told to COMMIT a transaction it never prepared (it has no PREPARED record)")
			if source == "coordinator" {
				c.send(&p.nodeBase, Coordinator, message{kind: msgAck, txn: t}, "send ACK")
			}
			return
		}
		p.txns[t] = &ptxn{phase: pDone, dec: Abort}
		p.log[t] = append(p.log[t], Aborted)
		return
	}
	switch pt.phase {
	case pWaiting, pPreparing:
		if d == Commit {
			p.conflict(t, "told to COMMIT before it voted")
			return
		}
		p.abortUnprepared(t, pt)
	case pPrepared:
		pt.phase, pt.dec = pDeciding, d
		pt.timer.Stop()
		p.endDoubt(t)
		what := fault.Act{Verb: logVerb(d)}
		if !c.before(&p.nodeBase, what) {
			return
		}
		c.net.Timer(p.id, c.cfg.Fsync, func() {
			p.log[t] = append(p.log[t], kindOf(d))
			pt.phase = pDone
			if c.trace != nil {
				c.note(p.id, what.Verb+", release locks")
			}
			p.release(t)
			c.after(&p.nodeBase, what)
			if d == Commit {
				c.send(&p.nodeBase, Coordinator, message{kind: msgAck, txn: t}, "send ACK")
			}
		})
	case pDeciding, pDone:
		if pt.dec != d && pt.dec != NoDecision {
			p.conflict(t, "decided %v, but the %s say %v", pt.dec, sourceNoun(source), d)
		}
	}
}

func sourceNoun(source string) string {
	if source == "peers" {
		return "peers"
	}
	return "coordinator's messages"
}

func (p *participant) abortUnprepared(t int32, pt *ptxn) {
	st := p.c.txns[t]
	key := st.keys[p.idx]
	if q := p.locks[key]; q != nil {
		if i := slices.Index(q.waiting, t); i >= 0 {
			q.waiting = slices.Delete(q.waiting, i, i+1)
		}
	}
	pt.phase, pt.dec = pDone, Abort
	p.log[t] = append(p.log[t], Aborted)
	p.release(t)
}

func (p *participant) onPeerQuery(from sim.NodeID, t int32) {
	c := p.c
	reply := func(s PeerState) {
		c.send(&p.nodeBase, from, message{kind: msgPeerReply, txn: t, peer: s}, "answer peer")
	}
	recs := p.log[t]
	switch durableDecision(recs) {
	case Commit:
		reply(PeerCommitted)
		return
	case Abort:
		reply(PeerAborted)
		return
	}
	if slices.Contains(recs, Prepared) {
		if pt := p.txns[t]; pt != nil && (pt.phase == pPrepared || pt.phase == pDeciding) {
			reply(PeerPrepared)
		}
		return // recovered but stalled: no answer
	}
	pt := p.txns[t]
	if pt != nil && pt.phase == pPreparing {
		reply(PeerPrepared) // about to vote YES: the asker keeps waiting
		return
	}
	if pt != nil && pt.phase == pDone {
		reply(PeerAborted)
		return
	}
	// It has not voted: it may abort alone, and must make that durable
	// before it says so (or a later PREPARE would get a YES).
	if pt == nil {
		pt = &ptxn{}
		p.txns[t] = pt
	}
	if !c.before(&p.nodeBase, fault.Act{Verb: "log ABORTED"}) {
		return
	}
	st := c.txns[t]
	key := st.keys[p.idx]
	if q := p.locks[key]; q != nil {
		if i := slices.Index(q.waiting, t); i >= 0 {
			q.waiting = slices.Delete(q.waiting, i, i+1)
		}
	}
	pt.phase, pt.dec = pDone, Abort
	c.net.Timer(p.id, c.cfg.Fsync, func() {
		p.log[t] = append(p.log[t], Aborted)
		c.note(p.id, "not voted yet: abort")
		c.after(&p.nodeBase, fault.Act{Verb: "log ABORTED"})
		reply(PeerAborted)
	})
}

func (p *participant) crash() {
	c := p.c
	for t, pt := range p.txns {
		if pt == nil {
			continue
		}
		st := c.txns[t]
		prepared := durableDecision(p.log[t]) == NoDecision && slices.Contains(p.log[t], Prepared)
		p.endDoubt(int32(t))
		if !prepared && st.lockAt[p.idx] != never {
			// Unprepared work is lost with the memory: so are its locks.
			st.lockHeld[p.idx] += c.sim.Now() - st.lockAt[p.idx]
			st.lockAt[p.idx] = never
		}
	}
	clear(p.txns)
	p.locks = map[string]*lockq{}
}

func (p *participant) recover() {
	c := p.c
	c.note(p.id, "recover from log")
	for i, recs := range p.log {
		if len(recs) == 0 {
			continue
		}
		t := int32(i)
		st := c.txns[t]
		r, err := callRecover(c.cfg.Rules.Recover, append([]Kind(nil), recs...))
		if err != nil {
			p.txns[t] = &ptxn{phase: pStalled}
			c.ruleFailed(p.id, "Recover(%v): %v", recs, err)
			continue
		}
		switch r {
		case RecoverCommit, RecoverAbort:
			d := Commit
			if r == RecoverAbort {
				d = Abort
			}
			if dur := durableDecision(recs); dur == NoDecision {
				p.log[t] = append(p.log[t], kindOf(d))
			} else if dur != d {
				p.conflict(t, "its log says %v, but its recovery chose %v", dur, d)
			}
			p.txns[t] = &ptxn{phase: pDone, dec: d}
			if st.lockAt[p.idx] != never {
				st.lockHeld[p.idx] += c.sim.Now() - st.lockAt[p.idx]
				st.lockAt[p.idx] = never
			}
			if d == Commit {
				c.send(&p.nodeBase, Coordinator, message{kind: msgAck, txn: t}, "send ACK")
			}
		case RecoverInDoubt:
			pt := &ptxn{phase: pPrepared}
			p.txns[t] = pt
			key := st.keys[p.idx]
			p.locks[key] = &lockq{holder: t}
			if st.lockAt[p.idx] == never {
				st.lockAt[p.idx] = c.sim.Now()
			}
			st.doubtAt[p.idx] = c.sim.Now()
			c.note(p.id, "in doubt: take the locks again")
			p.armQuery(t, pt, 0)
		default:
			p.txns[t] = &ptxn{phase: pStalled}
			c.ruleFailed(p.id, "Recover(%v) returned %v, which is not RecoverAbort, RecoverCommit or RecoverInDoubt", recs, r)
		}
	}
}

// ---- calling the rules safely ----

func callRecover(f RecoverFunc, log []Kind) (r Recovery, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	return f(log)
}

func callPhase2(f Phase2Func, parts []string, votes map[string]Vote) (es []Effect, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	return f(parts, votes)
}

func callTerminate(f TerminateFunc, answers []PeerState) (d Decision, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	d = f(answers)
	if d != NoDecision && d != Commit && d != Abort {
		return d, fmt.Errorf("returned %v, which is not Commit, Abort or NoDecision", d)
	}
	return d, nil
}

package twopc

import (
	"fmt"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

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

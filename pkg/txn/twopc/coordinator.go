package twopc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

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

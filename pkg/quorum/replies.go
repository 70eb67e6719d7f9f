package quorum

import (
	"fmt"
	"math/bits"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
)

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

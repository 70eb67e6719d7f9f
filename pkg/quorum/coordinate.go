package quorum

import (
	"fmt"
	"math/bits"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
)

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

package quorum

import (
	"math/bits"
	"sort"

	"github.com/dsgym/dsgym/pkg/sim"
)

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

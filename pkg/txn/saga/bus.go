package saga

import (
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

type busEvent struct {
	ev    event
	acked []bool // by subscriber position
	subs  []int
}

type bus struct {
	c      *Cluster
	fn     *fault.Node
	stored map[string]*busEvent
	order  []string
}

// subscribers returns the services that consume ev.
func (b *bus) subscribers(ev event) []int {
	n := len(b.c.cfg.Steps)
	switch ev.kind {
	case evDone:
		if ev.step == n-1 {
			return []int{0}
		}
		return []int{ev.step + 1}
	case evFailed, evUndone:
		if ev.step > 0 {
			return []int{ev.step - 1}
		}
	}
	return nil
}

func (b *bus) handle(from sim.NodeID, v any) {
	c := b.c
	c.inj.Touch()
	switch m := v.(type) {
	case publish:
		if _, dup := b.stored[m.ev.id]; !dup {
			be := &busEvent{ev: m.ev, subs: b.subscribers(m.ev)}
			be.acked = make([]bool, len(be.subs))
			b.stored[m.ev.id] = be
			b.order = append(b.order, m.ev.id)
			for i := range be.subs {
				b.deliver(be, i, c.cfg.Timeout)
			}
		}
		c.inj.Send(b.fn, from, pubAck{id: m.ev.id}, "confirm")
	case deliverAck:
		be := b.stored[m.id]
		if be == nil {
			return
		}
		for i, s := range be.subs {
			if c.svcs[s].id == from {
				be.acked[i] = true
			}
		}
	}
}

// deliver sends the event to subscriber i until it acknowledges, backing
// off from wait to at most 32 timeouts between sends.
func (b *bus) deliver(be *busEvent, i int, wait time.Duration) {
	c := b.c
	if be.acked[i] || !c.net.Up(Bus) {
		return
	}
	c.inj.Send(b.fn, c.svcs[be.subs[i]].id, deliver{ev: be.ev}, "deliver")
	c.net.Timer(Bus, wait, func() { b.deliver(be, i, min(2*wait, 32*c.cfg.Timeout)) })
}

func (b *bus) recover() {
	for _, id := range b.order {
		be := b.stored[id]
		for i := range be.subs {
			b.deliver(be, i, b.c.cfg.Timeout)
		}
	}
}

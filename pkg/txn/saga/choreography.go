package saga

import (
	"github.com/dsgym/dsgym/pkg/sim"
)

// start is the client's order arriving at the first service.
func (sv *service) start(s int32) {
	id := sv.c.sagas[s].id + "/start"
	if !sv.c.net.Up(sv.id) || sv.pending[id] {
		return
	}
	sv.apply(s, event{id: id, saga: s, step: -1, kind: evDone})
}

// onEvent consumes an event from the bus.
func (sv *service) onEvent(ev event) {
	c := sv.c
	ack := func() { c.inj.Send(sv.fn, Bus, deliverAck{id: ev.id}, "ack") }
	if _, ok := sv.applied[ev.id]; ok {
		ack() // processed already: a redelivery
		return
	}
	if sv.pending[ev.id] {
		return
	}
	sv.apply(ev.saga, ev)
}

// apply reacts to an event in one local transaction: the effect, the
// consumed event's id (so a redelivery is recognised), and the outgoing
// event (into the outbox, or published from memory after the commit).
func (sv *service) apply(s int32, in event) {
	c := sv.c
	st := c.sagas[s]
	n := len(c.cfg.Steps)
	sv.pending[in.id] = true
	var out *event
	sv.local(st.keys[sv.idx], func() {
		delete(sv.pending, in.id)
		sv.applied[in.id] = resOK
		switch {
		case in.kind == evDone && in.step == n-1 && sv.idx == 0:
			c.note(sv.id, "confirm "+st.id)
			c.finish(s, Completed)
		case in.kind == evDone && in.step == sv.idx-1:
			if st.spec.FailAt == string(sv.id) {
				c.note(sv.id, "refuse "+st.id)
				out = &event{id: st.id + "/" + string(sv.id) + "/failed", saga: s, step: sv.idx, kind: evFailed}
				if sv.idx == 0 {
					c.finish(s, Compensated)
					out = nil
				}
			} else {
				sv.effect(s, false)
				out = &event{id: st.id + "/" + string(sv.id) + "/done", saga: s, step: sv.idx, kind: evDone}
			}
		case (in.kind == evFailed || in.kind == evUndone) && in.step == sv.idx+1:
			sv.effect(s, true)
			if sv.idx == 0 {
				c.finish(s, Compensated)
			} else {
				out = &event{id: st.id + "/" + string(sv.id) + "/undone", saga: s, step: sv.idx, kind: evUndone}
			}
		}
		if out != nil && c.cfg.Outbox {
			sv.outbox = append(sv.outbox, outboxEntry{ev: *out})
		}
	}, func() {
		if out != nil {
			sv.publish(*out)
		}
		if in.step >= 0 && c.net.Up(sv.id) {
			c.inj.Send(sv.fn, Bus, deliverAck{id: in.id}, "ack")
		}
	})
}

// publish sends an event to the bus until the bus confirms it. With the
// outbox the event is durable already and the relay starts again after a
// crash; without it the event lives only in memory.
func (sv *service) publish(ev event) {
	c := sv.c
	if _, busy := sv.publishing[ev.id]; busy {
		return
	}
	var try func()
	try = func() {
		c.inj.Send(sv.fn, Bus, publish{ev: ev}, "publish")
		if c.net.Up(sv.id) {
			sv.publishing[ev.id] = c.net.Timer(sv.id, c.cfg.Timeout, try)
		}
	}
	try()
}

func (sv *service) crash() {
	sv.pending = map[string]bool{}
	sv.locks = map[string]*rowLock{}
	sv.publishing = map[string]*sim.Timer{}
}

func (sv *service) recover() {
	if len(sv.outbox) > 0 {
		sv.c.note(sv.id, "relay: publish the outbox again")
	}
	for _, e := range sv.outbox {
		sv.publish(e.ev)
	}
}

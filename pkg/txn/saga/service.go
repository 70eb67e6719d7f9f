package saga

import (
	"slices"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

type rowLock struct {
	held    bool
	waiting []func()
}

type outboxEntry struct {
	ev event
}

type service struct {
	c   *Cluster
	idx int
	id  sim.NodeID
	fn  *fault.Node
	// durable
	applied map[string]result // idempotency table: request key or event id -> result
	outbox  []outboxEntry
	// volatile
	pending    map[string]bool // keys with a local transaction in progress
	locks      map[string]*rowLock
	publishing map[string]*sim.Timer // events being published, by id
}

// local runs a local transaction on row: it takes the row's lock (waiting
// in line), writes durably (Fsync), runs commit (the state changes), and
// releases the lock; then, if the service is still up, it runs then (the
// messages that follow the commit). A crash before the write is durable
// loses the transaction; a crash right after it loses what then would send.
func (sv *service) local(row string, commit, then func()) {
	c := sv.c
	l := sv.locks[row]
	if l == nil {
		l = &rowLock{}
		sv.locks[row] = l
	}
	run := func() {
		l.held = true
		if !c.inj.Before(sv.fn, fault.Act{Verb: "commit"}) {
			return
		}
		c.net.Timer(sv.id, c.cfg.Fsync, func() {
			commit()
			c.inj.After(sv.fn, fault.Act{Verb: "commit"})
			if !c.net.Up(sv.id) {
				return
			}
			l.held = false
			then()
			if len(l.waiting) > 0 && c.net.Up(sv.id) {
				next := l.waiting[0]
				l.waiting = l.waiting[1:]
				next()
			}
		})
	}
	if l.held {
		l.waiting = append(l.waiting, run)
		return
	}
	run()
}

func (sv *service) effect(s int32, undo bool) {
	c := sv.c
	st := c.sagas[s]
	now := c.sim.Now()
	verbs, ok := Actions[string(sv.id)]
	if !ok {
		verbs = [2]string{"do " + string(sv.id), "undo " + string(sv.id)}
	}
	if undo {
		st.undoCount[sv.idx]++
		if st.undoAt[sv.idx] == never {
			st.undoAt[sv.idx] = now
		}
		c.note(sv.id, verbs[1]+" "+st.id)
	} else {
		st.doCount[sv.idx]++
		if st.doAt[sv.idx] == never {
			st.doAt[sv.idx] = now
		}
		c.note(sv.id, verbs[0]+" "+st.id)
	}
}

func (sv *service) handle(from sim.NodeID, v any) {
	c := sv.c
	c.inj.Touch()
	switch m := v.(type) {
	case request:
		sv.onRequest(from, m)
	case deliver:
		sv.onEvent(m.ev)
	case pubAck:
		if t, ok := sv.publishing[m.id]; ok {
			t.Stop()
			delete(sv.publishing, m.id)
			if i := slices.IndexFunc(sv.outbox, func(e outboxEntry) bool { return e.ev.id == m.id }); i >= 0 {
				sv.outbox = slices.Delete(sv.outbox, i, i+1)
			}
		}
	}
}

func (sv *service) onRequest(from sim.NodeID, r request) {
	c := sv.c
	answer := func(res result) {
		c.inj.Send(sv.fn, from, reply{saga: r.saga, step: r.step, undo: r.undo, key: r.key, res: res}, "reply")
	}
	if res, ok := sv.applied[r.key]; ok {
		c.note(sv.id, "key "+r.key+" seen: answer again")
		answer(res)
		return
	}
	if sv.pending[r.key] {
		return // the same request is being applied; its answer will come
	}
	sv.pending[r.key] = true
	st := c.sagas[r.saga]
	res := resOK
	sv.local(st.keys[sv.idx], func() {
		delete(sv.pending, r.key)
		switch {
		case !r.undo && st.spec.FailAt == string(sv.id):
			res = resRefused
			c.note(sv.id, "refuse "+st.id)
		case r.undo && c.cfg.UndoFailure > 0 && c.rng.Float64() < c.cfg.UndoFailure:
			res = resFailed
			c.note(sv.id, "compensation of "+st.id+" fails")
		default:
			sv.effect(r.saga, r.undo)
		}
		if res != resFailed {
			sv.applied[r.key] = res
		}
	}, func() { answer(res) })
}

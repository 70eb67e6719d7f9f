package saga

import (
	"fmt"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

type recKind uint8

const (
	recStarted recKind = iota + 1
	recDone
	recFailed
	recCompensated
	recParked
	recCompleted
	recAborted
)

var recNames = [...]string{"", "STARTED", "DONE", "FAILED", "COMPENSATED", "PARKED", "COMPLETED", "ABORTED"}

type logRec struct {
	kind recKind
	step int
}

type ophase uint8

const (
	oForward ophase = iota + 1
	oCompensating
	oParked
	oStalled
)

type osaga struct {
	phase   ophase
	step    int          // forward: the pending step
	pending Compensation // compensating: the pending request
	attempt int
	timer   *sim.Timer
	busy    bool // a log write is in progress
}

type orchestrator struct {
	c         *Cluster
	fn        *fault.Node
	log       map[int32][]logRec
	sagas     map[int32]*osaga
	reconcile *sim.Timer
}

func (o *orchestrator) begin(s int32) {
	c := o.c
	if !c.net.Up(Orchestrator) || o.sagas[s] != nil {
		return // down, or already starting it
	}
	os := &osaga{phase: oForward}
	o.sagas[s] = os
	o.write(s, os, logRec{kind: recStarted}, func() { o.sendDo(s, os, c.cfg.Timeout) })
}

// write appends a record durably, then runs next (if the orchestrator is
// still up).
func (o *orchestrator) write(s int32, os *osaga, r logRec, next func()) {
	c := o.c
	what := fault.Act{Verb: "log " + recNames[r.kind]}
	if !c.inj.Before(o.fn, what) {
		return
	}
	os.busy = true
	c.net.Timer(Orchestrator, c.cfg.Fsync, func() {
		os.busy = false
		o.log[s] = append(o.log[s], r)
		switch r.kind {
		case recCompleted:
			delete(o.sagas, s)
			c.finish(s, Completed)
		case recAborted:
			delete(o.sagas, s)
			c.finish(s, Compensated)
		}
		if c.trace != nil {
			txt := "log " + recNames[r.kind]
			if r.kind == recDone || r.kind == recFailed || r.kind == recCompensated || r.kind == recParked {
				txt += " " + c.stepName(r.step)
			}
			c.note(Orchestrator, txt+" ("+c.sagas[s].id+")")
		}
		c.inj.After(o.fn, what)
		if c.net.Up(Orchestrator) && next != nil {
			next()
		}
	})
}

// sendDo sends the pending step's request, and again with the same key
// after wait, backing off to at most 32 timeouts between sends.
func (o *orchestrator) sendDo(s int32, os *osaga, wait time.Duration) {
	c := o.c
	st := c.sagas[s]
	step := c.cfg.Steps[os.step]
	c.inj.Send(o.fn, sim.NodeID(step), request{saga: s, step: os.step, key: DoKey(st.id, step)}, "send do")
	if c.net.Up(Orchestrator) {
		pending := os.step
		os.timer = c.net.Timer(Orchestrator, wait, func() {
			if os.phase == oForward && !os.busy && os.step == pending {
				o.sendDo(s, os, min(2*wait, 32*c.cfg.Timeout))
			}
		})
	}
}

func (o *orchestrator) handle(from sim.NodeID, v any) {
	c := o.c
	c.inj.Touch()
	r, ok := v.(reply)
	if !ok {
		return
	}
	os := o.sagas[r.saga]
	if os == nil || os.busy {
		return
	}
	n := len(c.cfg.Steps)
	switch {
	case !r.undo && os.phase == oForward && r.step == os.step:
		os.timer.Stop()
		if r.res == resRefused {
			o.write(r.saga, os, logRec{kind: recFailed, step: r.step}, func() {
				os.phase, os.attempt = oCompensating, 0
				o.compensate(r.saga, os)
			})
			return
		}
		o.write(r.saga, os, logRec{kind: recDone, step: r.step}, func() {
			os.step++
			if os.step < n {
				o.sendDo(r.saga, os, c.cfg.Timeout)
				return
			}
			o.write(r.saga, os, logRec{kind: recCompleted}, nil)
		})
	case r.undo && os.phase == oCompensating && c.cfg.Steps[r.step] == os.pending.Step:
		if r.res != resOK {
			os.timer.Stop()
			o.retry(r.saga, os)
			return
		}
		os.timer.Stop()
		o.write(r.saga, os, logRec{kind: recCompensated, step: r.step}, func() {
			os.attempt = 0
			o.compensate(r.saga, os)
		})
	}
}

// progress rebuilds what the saga log says.
func (o *orchestrator) progress(s int32, attempt int) Progress {
	c := o.c
	p := Progress{SagaID: c.sagas[s].id, Steps: append([]string(nil), c.cfg.Steps...), Attempt: attempt}
	for _, r := range o.log[s] {
		switch r.kind {
		case recDone:
			p.Done = append(p.Done, c.cfg.Steps[r.step])
		case recCompensated:
			if !slices.Contains(p.Compensated, c.cfg.Steps[r.step]) {
				p.Compensated = append(p.Compensated, c.cfg.Steps[r.step])
			}
		}
	}
	return p
}

func (o *orchestrator) compensate(s int32, os *osaga) {
	c := o.c
	p := o.progress(s, os.attempt)
	comp, more, err := callCompensate(c.cfg.Compensate, p)
	if err != nil {
		os.phase = oStalled
		c.ruleFailed("Compensate(%+v): %v", p, err)
		return
	}
	if !more {
		o.write(s, os, logRec{kind: recAborted}, nil)
		return
	}
	step := c.cfg.stepIndex(comp.Step)
	if step < 0 {
		os.phase = oStalled
		c.ruleFailed("Compensate(%+v) returned %v: %q is not a step of the saga", p, comp, comp.Step)
		return
	}
	if !slices.Contains(p.Done, comp.Step) {
		os.phase = oStalled
		c.ruleFailed("Compensate(%+v) returned %v, but %s never took effect (Done is %v)", p, comp, comp.Step, p.Done)
		return
	}
	if slices.Contains(p.Compensated, comp.Step) {
		os.phase = oStalled
		c.ruleFailed("Compensate(%+v) returned %v, but %s is compensated already", p, comp, comp.Step)
		return
	}
	if comp.Key == "" {
		os.phase = oStalled
		c.ruleFailed("Compensate(%+v) returned %v with no idempotency key", p, comp)
		return
	}
	os.pending = comp
	c.inj.Send(o.fn, sim.NodeID(comp.Step), request{saga: s, step: step, undo: true, key: comp.Key}, "send undo")
	if c.net.Up(Orchestrator) {
		os.timer = c.net.Timer(Orchestrator, c.cfg.Timeout, func() {
			if os.phase == oCompensating && !os.busy {
				o.retry(s, os)
			}
		})
	}
}

// retry sends the pending compensation again, or parks the saga once it
// has used its attempts.
func (o *orchestrator) retry(s int32, os *osaga) {
	c := o.c
	os.attempt++
	if os.attempt < c.cfg.MaxAttempts {
		o.compensate(s, os)
		return
	}
	o.write(s, os, logRec{kind: recParked, step: c.cfg.stepIndex(os.pending.Step)}, func() {
		os.phase = oParked
		c.sagas[s].parked++
		o.armReconcile()
	})
}

func (o *orchestrator) armReconcile() {
	c := o.c
	if o.reconcile.Pending() {
		return
	}
	o.reconcile = c.net.Timer(Orchestrator, c.cfg.ReconcileEvery, func() {
		ids := make([]int32, 0, len(o.sagas))
		for s, os := range o.sagas {
			if os.phase == oParked {
				ids = append(ids, s)
			}
		}
		slices.Sort(ids)
		if len(ids) > 0 {
			c.note(Orchestrator, "reconciliation job: retry parked compensations")
		}
		for _, s := range ids {
			os := o.sagas[s]
			os.phase, os.attempt = oCompensating, 0
			o.compensate(s, os)
		}
	})
}

func (o *orchestrator) crash() {
	o.sagas = map[int32]*osaga{}
	o.reconcile = nil
}

func (o *orchestrator) recover() {
	c := o.c
	ids := make([]int32, 0, len(o.log))
	for s := range o.log {
		ids = append(ids, s)
	}
	slices.Sort(ids)
	c.note(Orchestrator, "recover from the saga log")
	for _, s := range ids {
		recs := o.log[s]
		last := recs[len(recs)-1]
		if last.kind == recCompleted || last.kind == recAborted {
			continue
		}
		os := &osaga{}
		o.sagas[s] = os
		compensating := slices.ContainsFunc(recs, func(r logRec) bool { return r.kind == recFailed || r.kind == recCompensated || r.kind == recParked })
		switch {
		case last.kind == recParked:
			os.phase = oParked
			o.armReconcile()
		case compensating:
			os.phase = oCompensating
			o.compensate(s, os)
		default:
			os.phase = oForward
			for _, r := range recs {
				if r.kind == recDone {
					os.step = r.step + 1
				}
			}
			if os.step == len(c.cfg.Steps) {
				o.write(s, os, logRec{kind: recCompleted}, nil)
			} else {
				o.sendDo(s, os, c.cfg.Timeout)
			}
		}
	}
}

func callCompensate(f CompensateFunc, p Progress) (c Compensation, ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			fault.PassStub(v)
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	c, ok = f(p)
	return c, ok, nil
}

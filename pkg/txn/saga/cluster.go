package saga

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// Outcome is how a saga ended.
type Outcome uint8

// The outcomes.
const (
	// Running: not finished (yet).
	Running Outcome = iota
	// Completed: every step took effect.
	Completed
	// Compensated: a step failed and every step that had taken effect was
	// undone (possibly none, when the first step failed).
	Compensated
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Running:
		return "running"
	case Completed:
		return "completed"
	case Compensated:
		return "compensated"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Spec is one saga submitted to a [Cluster].
type Spec struct {
	// FailAt names the step whose service refuses; "" for none.
	FailAt string
	// Keys holds the row each step's local transaction locks, by step
	// index; nil gives every step its own row, unique to the saga.
	Keys []string
}

// Cluster is a running saga system on a simulated network. [Run] drives
// one saga through it; experiments with many sagas use [NewCluster],
// [Cluster.Begin] and [Cluster.Finish].
type Cluster struct {
	cfg     Config
	sim     *sim.Sim
	net     *sim.Network
	trace   *sim.Trace
	inj     *fault.Injector
	rng     *rand.Rand
	svcs    []*service
	orch    *orchestrator
	bus     *bus
	sagas   []*sagaStat
	ruleErr []string
	// OnFinished, when set, is called when a saga reaches its outcome.
	OnFinished func(saga int, o Outcome, at time.Duration)
	finished   bool
}

type sagaStat struct {
	spec      Spec
	id        string
	keys      []string
	begin     time.Duration
	end       time.Duration
	outcome   Outcome
	doAt      []time.Duration
	doCount   []int
	undoAt    []time.Duration
	undoCount []int
	parked    int
}

const never = time.Duration(-1)

// NewCluster builds a saga system from cfg (validated) with no saga yet.
func NewCluster(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := sim.New(cfg.Seed)
	c := &Cluster{cfg: cfg, sim: s, net: sim.NewNetwork(s, cfg.Link), rng: s.Rand("saga/undo-failures")}
	if cfg.Trace > 0 {
		c.trace = c.net.Record(cfg.Trace)
		c.net.Describe(c.describe)
	} else {
		c.net.Describe(func(any) string { return "" })
	}
	c.inj = fault.New(c.net, cfg.Crashes)
	if cfg.Choreography {
		c.bus = &bus{c: c, fn: c.inj.Node(Bus), stored: map[string]*busEvent{}}
		if err := c.net.AddNode(Bus, c.bus.handle); err != nil {
			return nil, err
		}
		c.net.OnRestart(Bus, c.bus.recover)
	} else {
		c.orch = &orchestrator{c: c, fn: c.inj.Node(Orchestrator), log: map[int32][]logRec{}, sagas: map[int32]*osaga{}}
		if err := c.net.AddNode(Orchestrator, c.orch.handle); err != nil {
			return nil, err
		}
		c.net.OnCrash(Orchestrator, c.orch.crash)
		c.net.OnRestart(Orchestrator, c.orch.recover)
	}
	for i, name := range cfg.Steps {
		sv := &service{c: c, idx: i, id: sim.NodeID(name), fn: c.inj.Node(sim.NodeID(name)),
			applied: map[string]result{}, pending: map[string]bool{}, locks: map[string]*rowLock{}, publishing: map[string]*sim.Timer{}}
		c.svcs = append(c.svcs, sv)
		if err := c.net.AddNode(sv.id, sv.handle); err != nil {
			return nil, err
		}
		c.net.OnCrash(sv.id, sv.crash)
		c.net.OnRestart(sv.id, sv.recover)
	}
	return c, nil
}

// Sim returns the simulation the cluster runs on.
func (c *Cluster) Sim() *sim.Sim { return c.sim }

// Network returns the simulated network.
func (c *Cluster) Network() *sim.Network { return c.net }

// Begin starts a saga now and returns its number (0, 1, ...).
func (c *Cluster) Begin(sp Spec) (int, error) {
	n := len(c.cfg.Steps)
	if sp.Keys != nil && len(sp.Keys) != n {
		return 0, fmt.Errorf("saga: the saga has %d keys for %d steps", len(sp.Keys), n)
	}
	if sp.FailAt != "" && c.cfg.stepIndex(sp.FailAt) < 0 {
		return 0, fmt.Errorf("saga: FailAt names %q, which is not a step (%v)", sp.FailAt, c.cfg.Steps)
	}
	id := len(c.sagas)
	st := &sagaStat{spec: sp, id: "s" + strconv.Itoa(id+1), keys: sp.Keys, begin: c.sim.Now(), end: never,
		doAt: make([]time.Duration, n), doCount: make([]int, n), undoAt: make([]time.Duration, n), undoCount: make([]int, n)}
	if st.keys == nil {
		st.keys = make([]string, n)
		for i := range st.keys {
			st.keys[i] = st.id
		}
	}
	for i := 0; i < n; i++ {
		st.doAt[i], st.undoAt[i] = never, never
	}
	c.sagas = append(c.sagas, st)
	c.submit(int32(id))
	return id, nil
}

// submit is the client: it asks the first node (the orchestrator, or the
// first service) to start the saga, and asks again every Timeout until the
// saga's start is durable there.
func (c *Cluster) submit(s int32) {
	if c.cfg.Choreography {
		sv := c.svcs[0]
		if _, ok := sv.applied[c.sagas[s].id+"/start"]; ok {
			return
		}
		sv.start(s)
	} else {
		if len(c.orch.log[s]) > 0 {
			return
		}
		c.orch.begin(s)
	}
	c.sim.After(c.cfg.Timeout, func() { c.submit(s) })
}

func (c *Cluster) finish(s int32, o Outcome) {
	st := c.sagas[s]
	if st.outcome != Running {
		return
	}
	st.outcome, st.end = o, c.sim.Now()
	c.inj.Touch()
	if c.OnFinished != nil {
		c.OnFinished(int(s), o, st.end)
	}
}

func (c *Cluster) note(id sim.NodeID, text string) {
	if c.trace != nil {
		c.net.Note(id, text)
	}
}

func (c *Cluster) ruleFailed(format string, args ...any) {
	if len(c.ruleErr) < 10 {
		c.ruleErr = append(c.ruleErr, fmt.Sprintf("%s at virtual time %v: ", Orchestrator, c.sim.Now())+fmt.Sprintf(format, args...))
	}
}

// Finish runs the simulation to the end (every saga finished, or the
// horizon) and returns the result. Call it once.
func (c *Cluster) Finish() *Result {
	var stepErr error
	if !c.finished {
		c.finished = true
		// A livelock at one virtual instant never reaches the horizon: stop
		// it after far more events than the sagas could need.
		c.sim.SetMaxSteps(uint64(max(2_000_000, 20_000*len(c.sagas))))
		stepErr = c.sim.RunUntil(c.cfg.Horizon)
	}
	return c.result(stepErr)
}

// Run runs one saga through a cluster built from cfg (failing at
// cfg.FailAt, with cfg.Crashes) and returns what happened. The error is for
// an invalid configuration; what went wrong in the run is in the result.
func Run(cfg Config) (*Result, error) {
	c, err := NewCluster(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := c.Begin(Spec{FailAt: cfg.FailAt}); err != nil {
		return nil, err
	}
	return c.Finish(), nil
}

// ---- messages ----

type result uint8

const (
	resOK result = iota + 1
	resRefused
	resFailed
)

type request struct {
	saga int32
	step int
	undo bool
	key  string
}

type reply struct {
	saga int32
	step int
	undo bool
	key  string
	res  result
}

type evKind uint8

const (
	evDone evKind = iota + 1
	evFailed
	evUndone
)

type event struct {
	id   string
	saga int32
	step int
	kind evKind
}

type publish struct{ ev event }
type pubAck struct{ id string }
type deliver struct{ ev event }
type deliverAck struct{ id string }

func (c *Cluster) describe(v any) string {
	name, evName := c.stepName, c.eventName
	switch m := v.(type) {
	case request:
		if m.undo {
			return "undo " + name(m.step) + " [" + m.key + "]"
		}
		return "do " + name(m.step) + " [" + m.key + "]"
	case reply:
		what := "done"
		switch m.res {
		case resRefused:
			what = "refused"
		case resFailed:
			what = "failed"
		}
		if m.undo {
			return "undo " + name(m.step) + ": " + what
		}
		return name(m.step) + ": " + what
	case publish:
		return "publish " + evName(m.ev)
	case pubAck:
		return "stored"
	case deliver:
		return evName(m.ev)
	case deliverAck:
		return "ack"
	}
	return fmt.Sprint(v)
}

func (c *Cluster) stepName(step int) string {
	if step >= 0 && step < len(c.cfg.Steps) {
		return c.cfg.Steps[step]
	}
	return "step" + strconv.Itoa(step)
}

func (c *Cluster) eventName(e event) string {
	name := c.stepName
	switch e.kind {
	case evDone:
		return name(e.step) + " done"
	case evFailed:
		return name(e.step) + " failed"
	case evUndone:
		return name(e.step) + " undone"
	}
	return "event"
}

// ---- services ----

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

// ---- choreography ----

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

// ---- the event bus ----

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

// ---- the orchestrator ----

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

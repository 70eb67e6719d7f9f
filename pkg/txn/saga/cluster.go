package saga

import (
	"fmt"
	"math/rand/v2"
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

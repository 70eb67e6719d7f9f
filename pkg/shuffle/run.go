package shuffle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Stage is one attempt of one stage as it ran.
type Stage struct {
	ID, Attempt int
	Name        string
	Start, End  time.Duration
	// Tasks holds every task attempt, in launch order: successes, the
	// copies speculation killed and the attempts that failed.
	Tasks []TaskMetrics
}

// Time is the stage attempt's wall time.
func (s Stage) Time() time.Duration { return s.End - s.Start }

// Result is one simulated run.
type Result struct {
	Seed uint64
	// Wall is the job's time from the first task to the last.
	Wall   time.Duration
	Stages []Stage
	// Splits are the skewed partitions AQE split (joins only).
	Splits []Split
	// BroadcastBytes is the small side shipped to every executor.
	BroadcastBytes int64
	// Copies counts speculative copies launched, CopyWins those that
	// finished first; Wasted is the slot time of the attempts that were
	// killed or failed.
	Copies, CopyWins int
	Wasted           time.Duration
	// Recomputed counts map tasks run again because their output was lost.
	Recomputed int
	// Events is how many task events (launches and ends) ran.
	Events int
	// Edges are the job's shuffles: stage From writes what stage To reads.
	Edges []Edge
	// Notes says what the run could not do, in sentences.
	Notes []string
}

// Edge is one shuffle between two stages (by stage ID).
type Edge struct {
	From, To int
	Bytes    int64
}

// Stage returns the last attempt of the stage named name, or false.
func (r *Result) Stage(name string) (Stage, bool) {
	for i := len(r.Stages) - 1; i >= 0; i-- {
		if r.Stages[i].Name == name {
			return r.Stages[i], true
		}
	}
	return Stage{}, false
}

// Last returns the last stage attempt (the job's final stage).
func (r *Result) Last() Stage { return r.Stages[len(r.Stages)-1] }

// Successful returns the successful task attempts of every attempt of
// the stage named name: one per partition.
func (r *Result) Successful(name string) []TaskMetrics {
	var out []TaskMetrics
	for _, s := range r.Stages {
		if s.Name == name {
			out = append(out, Succeeded(s.Tasks)...)
		}
	}
	return out
}

// Run simulates the job c describes.
func Run(c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	pl, err := c.build()
	if err != nil {
		return nil, err
	}
	e := newEngine(c, pl)
	return e.run()
}

type attemptRun struct {
	t     *taskRun
	exec  int
	start sim.Time
	dur   time.Duration
	timer *sim.Timer
	spec  bool
	slot  int    // index of its metrics in its Stage's Tasks
	fire  func() // e.finish(a), made once per pooled attempt
}

// attempt returns an attemptRun from the pool, or a new one. Attempts go
// back with recycle once ended: a job launches tens of thousands.
func (e *engine) attempt() *attemptRun {
	if n := len(e.pool); n > 0 {
		a := e.pool[n-1]
		e.pool = e.pool[:n-1]
		return a
	}
	a := &attemptRun{}
	a.fire = func() { e.finish(a) }
	return a
}

func (e *engine) recycle(a *attemptRun) {
	fire := a.fire
	*a = attemptRun{fire: fire}
	e.pool = append(e.pool, a)
}

type taskRun struct {
	st       *stageRun
	p        *taskPlan
	done     bool
	queued   bool
	copied   bool
	took     time.Duration // the successful attempt's duration
	attempts int           // attempts launched so far
	live     int           // index in its stage's live list while running
	running  []*attemptRun
}

type stageRun struct {
	plan      *stagePlan
	attempt   int
	tasks     []*taskRun
	remaining int
	waiting   int
	notify    []*stageRun
	recovery  bool
	closed    bool
	noPref    queue
	byHost    []queue
	pref      queue
	spec      []*taskRun
	lastLocal sim.Time
	out       int // index in Result.Stages
	// finished tasks' durations and totals, for speculation
	doneDur  runningMedian
	doneRecs int64
	doneTime time.Duration
	live     []*taskRun // tasks with a running attempt
}

// queue is a FIFO of tasks that skips those no longer queued.
type queue struct {
	items []*taskRun
	head  int
}

func (q *queue) push(t *taskRun) { q.items = append(q.items, t) }

func (q *queue) pop() *taskRun {
	for q.head < len(q.items) {
		t := q.items[q.head]
		q.head++
		if t.queued {
			return t
		}
	}
	return nil
}

func (q *queue) peek() *taskRun {
	for q.head < len(q.items) {
		if t := q.items[q.head]; t.queued {
			return t
		}
		q.head++
	}
	return nil
}

type engine struct {
	c       Config
	pl      *plan
	s       *sim.Sim
	rng     *rand.Rand
	alive   []bool
	free    []int
	slow    []float64
	gc      []float64
	net     []float64
	built   map[[2]int]bool // (stage plan id, executor) has built the broadcast table
	active  []*stageRun
	phase   int
	res     *Result
	taskID  int64
	done    bool
	wake    *sim.Timer
	specT   *sim.Timer
	timers  []*sim.Timer
	execMem int64
	names   [][2]string // executor id and host name
	pool    []*attemptRun
}

func newEngine(c Config, pl *plan) *engine {
	n := c.Cluster.Executors
	e := &engine{c: c, pl: pl, s: sim.New(c.Seed), alive: make([]bool, n), free: make([]int, n),
		slow: make([]float64, n), gc: make([]float64, n), net: make([]float64, n), built: map[[2]int]bool{},
		res:     &Result{Seed: c.Seed, Splits: pl.splits, BroadcastBytes: pl.bcast, Notes: pl.notes},
		execMem: c.Cluster.ExecutionMemory()}
	e.rng = e.s.Rand("tasks")
	for _, ph := range pl.phases {
		for _, sp := range ph {
			seen := map[*shuffleState]bool{}
			for _, t := range sp.tasks {
				for _, r := range t.reads {
					if !seen[r.sh] {
						seen[r.sh] = true
						e.res.Edges = append(e.res.Edges, Edge{From: r.sh.producer.id, To: sp.id})
					}
				}
			}
		}
	}
	for i, ed := range e.res.Edges {
		for _, ph := range pl.phases {
			for _, sp := range ph {
				if sp.id == ed.From {
					for _, t := range sp.tasks {
						e.res.Edges[i].Bytes += t.writeBytes
					}
				}
			}
		}
	}
	if c.MaxEvents > 0 {
		e.s.SetMaxSteps(uint64(c.MaxEvents))
	} else {
		e.s.SetMaxSteps(20_000_000)
	}
	for i := range n {
		e.names = append(e.names, [2]string{fmt.Sprint(i), fmt.Sprintf("host-%d", i)})
		e.alive[i], e.free[i], e.slow[i], e.gc[i], e.net[i] = true, c.Cluster.Cores, 1, 1, c.Cluster.Network
	}
	for _, f := range c.Faults {
		switch f.Kind {
		case SlowHost:
			e.slow[f.Host] *= f.Factor
		case GCStorm:
			e.gc[f.Host] *= f.Factor
		case HotNetwork:
			e.net[f.Host] /= f.Factor
		}
	}
	return e
}

func (e *engine) run() (*Result, error) {
	for _, f := range e.c.Faults {
		if f.Kind == LoseExecutor {
			f := f
			e.timers = append(e.timers, e.s.At(f.At, func() { e.lose(f.Host) }))
		}
	}
	if e.c.Speculation.Enabled {
		e.specT = e.s.After(e.c.Speculation.Interval, e.speculate)
	}
	e.startPhase()
	if err := e.s.Run(); err != nil {
		return nil, err
	}
	if !e.done {
		return nil, fmt.Errorf("shuffle: the job could not finish (no executor left to run its tasks) at %v", e.s.Now())
	}
	return e.res, nil
}

func (e *engine) startPhase() {
	if e.phase == len(e.pl.phases) {
		e.done = true
		e.res.Wall = e.s.Now()
		for _, t := range e.timers {
			t.Stop()
		}
		e.specT.Stop()
		e.wake.Stop()
		return
	}
	for _, sp := range e.pl.phases[e.phase] {
		idx := seq(len(sp.tasks))
		e.startStage(sp, idx, false)
	}
	e.schedule()
}

// startStage opens an attempt of sp over the given task indexes; it waits
// for recovery stages first when a shuffle it reads lost outputs.
func (e *engine) startStage(sp *stagePlan, idx []int, recovery bool) *stageRun {
	st := &stageRun{plan: sp, attempt: sp.attempts, recovery: recovery, byHost: make([]queue, e.c.Cluster.Executors), lastLocal: e.s.Now()}
	sp.attempts++
	st.out = len(e.res.Stages)
	e.res.Stages = append(e.res.Stages, Stage{ID: sp.id, Attempt: st.attempt, Name: sp.name, Start: e.s.Now()})
	for _, i := range idx {
		st.tasks = append(st.tasks, &taskRun{st: st, p: &sp.tasks[i]})
	}
	st.remaining = len(st.tasks)
	e.res.Stages[st.out].Tasks = make([]TaskMetrics, 0, len(st.tasks))
	e.active = append(e.active, st)
	// recover lost inputs first
	lost := map[*shuffleState][]int{}
	for _, t := range st.tasks {
		for _, r := range t.p.reads {
			if _, seen := lost[r.sh]; seen {
				continue
			}
			var miss []int
			for m, h := range r.sh.host {
				if h < 0 {
					miss = append(miss, m)
				}
			}
			lost[r.sh] = miss
		}
	}
	for sh, miss := range lost {
		if len(miss) == 0 {
			continue
		}
		e.res.Recomputed += len(miss)
		rec := e.startStage(sh.producer, miss, true)
		rec.notify = append(rec.notify, st)
		st.waiting++
	}
	if st.waiting == 0 {
		e.enqueueAll(st)
	}
	return st
}

func (e *engine) enqueueAll(st *stageRun) {
	e.res.Stages[st.out].Start = e.s.Now()
	for _, t := range st.tasks {
		e.enqueue(t)
	}
}

func (e *engine) enqueue(t *taskRun) {
	t.queued = true
	st := t.st
	if t.p.pref < 0 {
		st.noPref.push(t)
		return
	}
	st.byHost[t.p.pref].push(t)
	st.pref.push(t)
}

// schedule fills free slots: local tasks first, then tasks without a
// preference, then (after the locality wait) any task, then speculative
// copies on a host other than the original's.
func (e *engine) schedule() {
	if e.done {
		return
	}
	needWake := sim.Time(-1)
	for ex := range e.free {
		for e.alive[ex] && e.free[ex] > 0 {
			t, loc, spec, wakeAt := e.pick(ex)
			if wakeAt >= 0 && (needWake < 0 || wakeAt < needWake) {
				needWake = wakeAt
			}
			if t == nil {
				break
			}
			e.launch(t, ex, loc, spec)
		}
	}
	if needWake >= 0 && (!e.wake.Pending() || e.wake.When() > needWake) {
		e.wake.Stop()
		e.wake = e.s.At(needWake, e.schedule)
	}
}

func (e *engine) pick(ex int) (*taskRun, string, bool, sim.Time) {
	wake := sim.Time(-1)
	for _, st := range e.active {
		if st.waiting > 0 || st.closed {
			continue
		}
		if t := st.byHost[ex].pop(); t != nil {
			st.lastLocal = e.s.Now()
			return t, "NODE_LOCAL", false, -1
		}
		if t := st.noPref.pop(); t != nil {
			return t, "PROCESS_LOCAL", false, -1
		}
		if t := st.pref.peek(); t != nil {
			if !e.alive[t.p.pref] || e.s.Now()-st.lastLocal >= e.c.LocalityWait {
				st.pref.pop()
				return t, "ANY", false, -1
			}
			wake = st.lastLocal + e.c.LocalityWait
		}
	}
	for _, st := range e.active {
		if st.closed {
			continue
		}
		for i, t := range st.spec {
			if t.done || len(t.running) == 0 {
				continue
			}
			if e.c.Cluster.Executors > 1 && slices.ContainsFunc(t.running, func(a *attemptRun) bool { return a.exec == ex }) {
				continue
			}
			st.spec = slices.Delete(st.spec, i, i+1)
			return t, "PROCESS_LOCAL", true, -1
		}
	}
	return nil, "", false, wake
}

func (e *engine) launch(t *taskRun, ex int, loc string, spec bool) {
	t.queued = false
	e.free[ex]--
	e.taskID++
	e.res.Events++
	a := e.attempt()
	a.t, a.exec, a.start, a.spec = t, ex, e.s.Now(), spec
	if spec {
		e.res.Copies++
	}
	stg := &e.res.Stages[t.st.out]
	stg.Tasks = append(stg.Tasks, TaskMetrics{})
	a.slot = len(stg.Tasks) - 1
	m := &stg.Tasks[a.slot]
	e.cost(m, t, ex, loc)
	m.TaskID, m.Stage, m.StageAttempt = e.taskID, t.st.plan.id, t.st.attempt
	m.Index, m.Partition, m.Speculative, m.Attempt = t.p.index, t.p.index, spec, t.attempts
	t.attempts++
	m.Launch, m.Status = e.s.Now(), "RUNNING"
	a.dur = m.Duration
	if len(t.running) == 0 {
		t.live = len(t.st.live)
		t.st.live = append(t.st.live, t)
	}
	t.running = append(t.running, a)
	a.timer = e.s.After(a.dur, a.fire)
}

func (e *engine) record(a *attemptRun, status, why string) {
	e.res.Events++
	m := &e.res.Stages[a.t.st.out].Tasks[a.slot]
	m.Status, m.Error = status, why
	if status != "SUCCESS" {
		m.Duration = e.s.Now() - a.start
		m.RunTime = max(0, m.Duration-e.c.Cost.Launch)
		e.res.Wasted += m.Duration
	}
}

func (e *engine) release(a *attemptRun) {
	t := a.t
	t.running = slices.DeleteFunc(t.running, func(b *attemptRun) bool { return b == a })
	if len(t.running) == 0 {
		// swap-delete t from its stage's live list
		live := t.st.live
		last := live[len(live)-1]
		live[t.live], last.live = last, t.live
		t.st.live = live[:len(live)-1]
	}
	if e.alive[a.exec] {
		e.free[a.exec]++
	}
}

func (e *engine) finish(a *attemptRun) {
	t := a.t
	e.release(a)
	e.record(a, "SUCCESS", "")
	if a.spec {
		e.res.CopyWins++
	}
	t.done, t.took = true, a.dur
	t.st.doneDur.add(a.dur)
	t.st.doneRecs += t.p.records()
	t.st.doneTime += a.dur
	for _, b := range slices.Clone(t.running) {
		b.timer.Stop()
		e.release(b)
		e.record(b, "KILLED", "another attempt succeeded")
		e.recycle(b)
	}
	sp := t.st.plan
	if sp.produces != nil {
		sp.produces.host[t.p.mapIndex] = a.exec
	}
	e.recycle(a)
	if !sp.done[t.p.index] {
		sp.done[t.p.index] = true
		sp.nDone++
	}
	t.st.remaining--
	if t.st.remaining == 0 {
		e.closeStage(t.st)
	}
	e.schedule()
}

func (e *engine) closeStage(st *stageRun) {
	st.closed = true
	e.res.Stages[st.out].End = e.s.Now()
	e.active = slices.DeleteFunc(e.active, func(s *stageRun) bool { return s == st })
	for _, w := range st.notify {
		w.waiting--
		if w.waiting == 0 && !w.closed {
			e.enqueueAll(w)
		}
	}
	if st.recovery {
		return
	}
	for _, sp := range e.pl.phases[e.phase] {
		if sp.nDone < len(sp.tasks) {
			return
		}
	}
	if len(e.active) == 0 {
		e.phase++
		e.startPhase()
	}
}

// speculate is Spark's periodic check: copy the tasks Speculatable picks.
// It keeps each stage's median duration as tasks finish, so a check costs
// the running tasks, not the whole stage.
func (e *engine) speculate() {
	if e.done {
		return
	}
	now := e.s.Now()
	for _, st := range e.active {
		if st.waiting > 0 {
			continue
		}
		need := max(int(e.c.Speculation.Quantile*float64(len(st.tasks))), 1)
		if st.doneDur.len() < need {
			continue
		}
		th := max(time.Duration(e.c.Speculation.Multiplier*float64(st.doneDur.median())), e.c.Speculation.MinRuntime)
		avgRate := 0.0
		if st.doneTime > 0 {
			avgRate = float64(st.doneRecs) / st.doneTime.Seconds()
		}
		for _, t := range st.live {
			if t.done || t.copied {
				continue
			}
			a := t.running[0]
			ts := TaskState{Running: true, Runtime: now - a.start}
			ts.Records = int64(float64(t.p.records()) * min(1, float64(ts.Runtime)/float64(a.dur)))
			if e.c.Speculation.copy(ts, th, avgRate) {
				t.copied = true
				st.spec = append(st.spec, t)
			}
		}
	}
	e.schedule()
	e.specT = e.s.After(e.c.Speculation.Interval, e.speculate)
}

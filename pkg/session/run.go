package session

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Result is what one simulated run produced.
type Result struct {
	Config Config
	// Names are the replicas' names, in Config.Replicas order.
	Names []string
	// History holds every operation, in completion order.
	History History
	// ReadsServed and WritesHandled count, per replica, the reads it
	// answered and the write requests it handled (committed as primary, or
	// forwarded for a pinned session).
	ReadsServed, WritesHandled []int
	// Lag holds the commit-to-apply delay of every log entry at every
	// replica other than the primary: the replication lag as measured.
	Lag []time.Duration
	// Waits counts write-token reads a replica was asked to hold;
	// Fallbacks those that went on to the primary after waiting; Repins the
	// sticky sessions pinned again after losing their replica.
	Waits, Fallbacks, Repins int
	// End is the virtual time the run ended; Events the simulator steps.
	End    time.Duration
	Events uint64
	// Net counts the messages of the run.
	Net sim.Stats
}

// maxSteps bounds a run's events (a 10,000-operation run takes about 100k).
const maxSteps = 20_000_000

// Simulate runs the configuration. route routes the write-token strategy's
// reads (the exercise's RouteRead or the reference); the other strategies
// ignore it and it may be nil for them.
func Simulate(cfg Config, route RouteFunc) (*Result, error) {
	w, err := build(cfg, route, false)
	if err != nil {
		return nil, err
	}
	return w.run()
}

func build(cfg Config, route RouteFunc, trace bool) (*world, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Strategy == Token && route == nil {
		return nil, fmt.Errorf("the %s strategy needs a RouteFunc: pass drill.Reference.Route or your RouteRead", Token)
	}
	s := sim.New(cfg.Seed)
	net := sim.NewNetwork(s, sim.Link{Latency: sim.SameRegionAZ, FIFO: true})
	if !trace {
		// The network describes every message it sends for its trace; with
		// no trace, skip that work.
		net.Describe(func(any) string { return "" })
	} else {
		net.Describe(describe)
	}
	w := &world{cfg: cfg, s: s, net: net, route: route, names: cfg.ReplicaNames(), routers: map[sim.Region]*router{}}
	if cfg.Duration <= 0 { // preallocate what a run of Ops operations fills
		w.history = make(History, 0, cfg.Ops)
		w.lag = make([]time.Duration, 0, int(float64(cfg.Ops)*cfg.WriteFraction*float64(len(cfg.Replicas)-1)*1.1))
	}

	for i, reg := range cfg.Replicas {
		r := &replica{w: w, idx: i, id: sim.NodeID(w.names[i]), region: reg, primary: i == 0,
			store: map[string]uint64{}, rng: newRand(cfg.Seed, "lag/"+w.names[i])}
		w.replicas = append(w.replicas, r)
		if err := net.AddNode(r.id, r.handle); err != nil {
			return nil, err
		}
		net.OnCrash(r.id, r.crashed)
		net.OnRestart(r.id, r.restarted)
	}
	var regions []sim.Region
	for _, reg := range cfg.ClientRegions {
		if _, dup := w.routers[reg]; dup {
			continue
		}
		regions = append(regions, reg)
		rt := &router{w: w, id: sim.NodeID("router-" + string(reg)), region: reg}
		n := len(cfg.Replicas)
		rt.rtt, rt.applied, rt.received = make([]time.Duration, n), make([]uint64, n), make([]uint64, n)
		rt.heard, rt.sent, rt.suspected = make([]time.Duration, n), make([]time.Duration, n), make([]time.Duration, n)
		for i, rreg := range cfg.Replicas {
			d, err := sim.OneWay(reg, rreg)
			if err != nil {
				return nil, err
			}
			rt.rtt[i], rt.suspected[i] = 2*d, -1
			rt.byRTT = append(rt.byRTT, i)
			if rreg == reg {
				rt.local = append(rt.local, i)
			}
		}
		slices.SortStableFunc(rt.byRTT, func(a, b int) int { return int(rt.rtt[a] - rt.rtt[b]) })
		w.routers[reg] = rt
		if err := net.AddNode(rt.id, rt.handle); err != nil {
			return nil, err
		}
	}
	w.cfg.ClientRegions = regions

	rel := thinkScale(cfg.Sessions, cfg.Skew)
	quota := shares(cfg.Ops, rel)
	w.shared = keys(cfg.SharedKeys, sharedKey)
	for i := 0; i < cfg.Sessions; i++ {
		reg := cfg.ClientRegions[i%len(cfg.ClientRegions)]
		c := &client{w: w, idx: i, id: sim.NodeID(fmt.Sprintf("s%02d", i)), region: reg, rt: w.routers[reg],
			wl: newRand(cfg.Seed, fmt.Sprintf("workload/%d", i)), thinkRng: newRand(cfg.Seed, fmt.Sprintf("think/%d", i)),
			rng: newRand(cfg.Seed, fmt.Sprintf("route/%d", i)), left: quota[i], pinned: -1, cache: map[string]cached{},
			own:   keys(cfg.OwnKeys, func(k int) string { return ownKey(i, k) }),
			think: time.Duration(float64(cfg.Think) / rel[i])}
		c.order, c.view = make([]int, len(cfg.Replicas)), make([]ReplicaView, len(cfg.Replicas))
		for k := range c.order {
			c.order[k] = k
		}
		w.clients = append(w.clients, c)
		if err := net.AddNode(c.id, c.handle); err != nil {
			return nil, err
		}
	}

	// Links: region to region latencies, FIFO like TCP connections.
	link := func(a, b sim.NodeID, ra, rb sim.Region) error {
		l, err := sim.RegionLink(ra, rb, cfg.NetJitter)
		if err != nil {
			return err
		}
		l.FIFO = true
		return net.SetLink(a, b, l)
	}
	for i, a := range w.replicas {
		for _, b := range w.replicas[i+1:] {
			if err := link(a.id, b.id, a.region, b.region); err != nil {
				return nil, err
			}
		}
		for _, rt := range w.routers {
			if err := link(a.id, rt.id, a.region, rt.region); err != nil {
				return nil, err
			}
		}
		for _, c := range w.clients {
			if err := link(a.id, c.id, a.region, c.region); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

func (w *world) run() (*Result, error) {
	cfg := w.cfg
	for _, r := range w.replicas {
		r.beat()
	}
	for _, c := range w.clients {
		if cfg.Strategy == Sticky {
			c.pinned = c.rt.balance(c.rng)
		}
		start := time.Duration(0)
		if c.script != nil {
			start = c.script[0].After
		} else if c.think > 0 {
			start = time.Duration(c.thinkRng.Float64() * float64(c.think))
		}
		w.net.Timer(c.id, start, c.next)
	}
	for _, cr := range cfg.Crashes {
		r, silent := w.replicas[cr.Replica], cr.Silent
		id := r.id
		w.s.At(cr.At, func() { r.silent = silent; w.net.Crash(id) })
		if cr.For > 0 {
			w.s.At(cr.At+cr.For, func() { w.net.Restart(id) })
		}
	}
	// Heartbeats never stop, so run until every session is done.
	done := func() bool {
		over := cfg.Duration > 0 && w.s.Now() >= cfg.Duration
		for _, c := range w.clients {
			if c.cur.active || (c.left > 0 && !over) {
				return false
			}
		}
		return true
	}
	step := max(cfg.Heartbeat, 100*time.Millisecond)
	for !done() && w.err == nil {
		if err := w.s.RunFor(step); err != nil {
			return nil, err
		}
		if w.s.Pending() == 0 {
			break
		}
		if w.s.Steps() > maxSteps {
			return nil, fmt.Errorf("the run took more than %d events (at virtual time %v) without finishing its operations; use fewer operations or a Duration", maxSteps, w.s.Now())
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	res := &Result{Config: cfg, Names: w.names, History: w.history, Lag: w.lag,
		Waits: w.stats.waits, Fallbacks: w.stats.fallbacks, Repins: w.stats.repins,
		End: w.s.Now(), Events: w.s.Steps(), Net: w.net.Stats()}
	for _, r := range w.replicas {
		res.ReadsServed = append(res.ReadsServed, r.reads)
		res.WritesHandled = append(res.WritesHandled, r.writes)
	}
	return res, nil
}

// Check runs the session-guarantee checkers over the run's history.
func (r *Result) Check(ryw Checker) (Report, error) { return Check(r.History, ryw) }

// Impl holds the two pieces of the model that the chapter's exercises
// write: the write-token router and the read-your-writes checker.
type Impl struct {
	Route    RouteFunc
	CheckRYW Checker
}

// Outcome is a run with its checked history and its summary.
type Outcome struct {
	*Result
	Report  Report
	Summary Summary
}

// Run simulates cfg, checks its history and summarises it.
func Run(cfg Config, impl Impl) (*Outcome, error) {
	res, err := Simulate(cfg, impl.Route)
	if err != nil {
		return nil, err
	}
	rep, err := res.Check(impl.CheckRYW)
	if err != nil {
		return nil, err
	}
	return &Outcome{Result: res, Report: rep, Summary: res.Summarize(rep)}, nil
}

// Summary is a run in a few numbers.
type Summary struct {
	Strategy Strategy
	// Ops counts every operation; Failed those that got no answer.
	Ops, Failed int
	// Availability is the share of operations that succeeded.
	Availability float64
	// Reads and Writes count the successful ones.
	Reads, Writes int
	// Violations counts the violations of each guarantee.
	Violations map[Guarantee]int
	// RYWRate and MRRate are read-your-writes and monotonic-read violations
	// per successful read.
	RYWRate, MRRate float64
	// Read and write latency percentiles of successful operations.
	ReadP50, ReadP99, WriteP50, WriteP99 time.Duration
	// PrimaryReadShare is the share of reads the primary answered;
	// Imbalance is the busiest replica's reads over the mean (1 = even).
	PrimaryReadShare, Imbalance float64
	// CacheAnswers counts reads answered from the client cache.
	CacheAnswers int
	// LagP50 and LagP99 are the measured replication lag.
	LagP50, LagP99 time.Duration
}

// Summarize turns a result and its report into a Summary.
func (r *Result) Summarize(rep Report) Summary {
	s := Summary{Strategy: r.Config.Strategy, Ops: len(r.History), Violations: map[Guarantee]int{}}
	var reads, writes []time.Duration
	for _, o := range r.History {
		switch {
		case !o.OK():
			s.Failed++
		case o.Kind == Read:
			reads = append(reads, o.End-o.Start)
			if o.Cached {
				s.CacheAnswers++
			}
		default:
			writes = append(writes, o.End-o.Start)
		}
	}
	s.Reads, s.Writes = len(reads), len(writes)
	if s.Ops > 0 {
		s.Availability = float64(s.Ops-s.Failed) / float64(s.Ops)
	}
	for _, g := range Guarantees {
		s.Violations[g] = rep.Count(g)
	}
	if s.Reads > 0 {
		s.RYWRate = float64(rep.Count(ReadYourWrites)) / float64(s.Reads)
		s.MRRate = float64(rep.Count(MonotonicReads)) / float64(s.Reads)
	}
	s.ReadP50, s.ReadP99 = Percentile(reads, 50), Percentile(reads, 99)
	s.WriteP50, s.WriteP99 = Percentile(writes, 50), Percentile(writes, 99)
	s.LagP50, s.LagP99 = Percentile(r.Lag, 50), Percentile(r.Lag, 99)
	total, most := 0, 0
	for _, n := range r.ReadsServed {
		total += n
		most = max(most, n)
	}
	if total > 0 {
		s.PrimaryReadShare = float64(r.ReadsServed[0]) / float64(total)
		s.Imbalance = float64(most) / (float64(total) / float64(len(r.ReadsServed)))
	}
	return s
}

// Percentile returns the nearest-rank p-th percentile of ds (0 for none).
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 || math.IsNaN(p) {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Bucket is one slice of a run's timeline.
type Bucket struct {
	// Start is when the bucket begins.
	Start time.Duration
	// Ops counts the operations that ended in the bucket, Failed those
	// that failed, Reads the successful reads.
	Ops, Failed, Reads int
	// RYW and MR count the violations among them.
	RYW, MR int
	// ReadLatency, WriteLatency and Latency are the mean latencies of the
	// successful reads, writes, and both.
	ReadLatency, WriteLatency, Latency time.Duration
}

// Timeline groups the run's operations by when they ended, in buckets of
// the given width, with the violations of rep.
func (o *Outcome) Timeline(width time.Duration) ([]Bucket, error) {
	if width <= 0 {
		return nil, fmt.Errorf("bucket width must be positive, got %v", width)
	}
	n := int(o.End/width) + 1
	if n > 100000 {
		return nil, fmt.Errorf("%v buckets of %v would be %d buckets; use wider buckets", o.End, width, n)
	}
	out := make([]Bucket, n)
	sum, wsum := make([]time.Duration, n), make([]time.Duration, n)
	writes := make([]int, n)
	for i := range out {
		out[i].Start = time.Duration(i) * width
	}
	for _, op := range o.History {
		b := int(op.End / width)
		out[b].Ops++
		switch {
		case !op.OK():
			out[b].Failed++
		case op.Kind == Read:
			out[b].Reads++
			sum[b] += op.End - op.Start
		default:
			writes[b]++
			wsum[b] += op.End - op.Start
		}
	}
	for _, v := range o.Report.Violations[ReadYourWrites] {
		out[int(o.History[v.Op].End/width)].RYW++
	}
	for _, v := range o.Report.Violations[MonotonicReads] {
		out[int(o.History[v.Op].End/width)].MR++
	}
	for i := range out {
		if out[i].Reads > 0 {
			out[i].ReadLatency = sum[i] / time.Duration(out[i].Reads)
		}
		if writes[i] > 0 {
			out[i].WriteLatency = wsum[i] / time.Duration(writes[i])
		}
		if n := out[i].Reads + writes[i]; n > 0 {
			out[i].Latency = (sum[i] + wsum[i]) / time.Duration(n)
		}
	}
	return out, nil
}

package quorum

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/sim"
)

// Class is one kind of operation in a workload: reads or writes at a
// consistency level, with a share of the traffic.
type Class struct {
	// Name labels the class in reports ("ingest", "dashboard").
	Name string
	// Write is true for writes, false for reads.
	Write bool
	// Weight is the class's share of operations, relative to the others.
	Weight float64
	// Level overrides the configuration's R or W for this class.
	Level Level
}

// Fault is a partition during a run: from At to Heal (Heal 0 means never),
// the nodes of each side can reach only their own side. Regions named on no
// side form one more side.
type Fault struct {
	At, Heal time.Duration
	Sides    [][]sim.Region
}

// Workload is what clients do during a run.
type Workload struct {
	// Ops is the number of operations, over all clients.
	Ops int
	// ClientsPerNode places that many clients in each node's region.
	ClientsPerNode int
	// Keys is the number of keys ("k0", "k1", ...), chosen uniformly.
	Keys int
	// Think is the mean pause (exponentially distributed) between the end
	// of a client's operation and its next call.
	Think time.Duration
	// Classes is the operation mix. Empty means ReadFraction reads and the
	// rest writes, at the configuration's R and W.
	Classes []Class
	// ReadFraction is the share of reads when Classes is empty.
	ReadFraction float64
	// Faults are the partitions to inject.
	Faults []Fault
	// SampleEvery, when positive, counts the keys whose replicas disagree
	// at that interval (Report.DivergentOver).
	SampleEvery time.Duration
}

// DefaultWorkload returns 2,000 operations from two clients per node on 10
// keys, half reads, with 20 ms of think time.
func DefaultWorkload() Workload {
	return Workload{Ops: 2000, ClientsPerNode: 2, Keys: 10, Think: 20 * time.Millisecond, ReadFraction: 0.5}
}

// Validate reports what is wrong with the workload, in one sentence.
func (w Workload) Validate() error {
	switch {
	case w.Ops < 1:
		return fmt.Errorf("a workload needs at least one operation (Ops=%d)", w.Ops)
	case w.ClientsPerNode < 1:
		return fmt.Errorf("ClientsPerNode=%d: there must be at least one client per node", w.ClientsPerNode)
	case w.Keys < 1:
		return fmt.Errorf("Keys=%d: there must be at least one key", w.Keys)
	case w.SampleEvery < 0:
		return fmt.Errorf("SampleEvery %v is negative", w.SampleEvery)
	case w.Think < 0:
		return fmt.Errorf("think time %v is negative", w.Think)
	case len(w.Classes) == 0 && !(w.ReadFraction >= 0 && w.ReadFraction <= 1):
		return fmt.Errorf("ReadFraction %v is outside [0, 1]", w.ReadFraction)
	}
	total := 0.0
	for _, c := range w.Classes {
		if !(c.Weight >= 0) || math.IsInf(c.Weight, 0) {
			return fmt.Errorf("class %q has weight %v: weights must be finite and not negative", c.Name, c.Weight)
		}
		if c.Name == "" {
			return fmt.Errorf("every class needs a name")
		}
		total += c.Weight
	}
	if len(w.Classes) > 0 && total == 0 {
		return fmt.Errorf("the classes' weights add up to 0")
	}
	for i, f := range w.Faults {
		if f.At < 0 || f.Heal < 0 || (f.Heal != 0 && f.Heal <= f.At) {
			return fmt.Errorf("fault %d: partition from %v to %v makes no sense (Heal must come after At, or be 0 for never)", i, f.At, f.Heal)
		}
		if len(f.Sides) == 0 {
			return fmt.Errorf("fault %d names no side", i)
		}
	}
	return nil
}

func (w Workload) classes() []Class {
	if len(w.Classes) > 0 {
		return w.Classes
	}
	return []Class{{Name: "read", Weight: w.ReadFraction}, {Name: "write", Write: true, Weight: 1 - w.ReadFraction}}
}

// SettleTime is how long a version must have been stored somewhere before a
// home replica that lacks it counts as left behind (Report.Divergent): longer
// than any write takes to cross the network.
const SettleTime = time.Second

// ClassStats summarises one class of operations of a run.
type ClassStats struct {
	Name  string
	Write bool
	// OK and Refused count the operations that succeeded and failed.
	OK, Refused int
	// Latencies holds the latency of each successful operation, in
	// milliseconds, in completion order.
	Latencies []float64
	// Stale counts stale reads (reads only).
	Stale int
	// Ages holds, for each stale read, how long the newer value had been
	// acknowledged when the read began, in milliseconds.
	Ages []float64
}

// Answered returns the share of operations that succeeded (NaN for none).
func (s ClassStats) Answered() float64 {
	return float64(s.OK) / float64(s.OK+s.Refused)
}

// StaleFraction returns the share of successful reads that were stale.
func (s ClassStats) StaleFraction() float64 {
	if s.OK == 0 {
		return 0
	}
	return float64(s.Stale) / float64(s.OK)
}

// Mean returns the mean latency in milliseconds (NaN when none).
func (s ClassStats) Mean() float64 {
	sum := 0.0
	for _, x := range s.Latencies {
		sum += x
	}
	return sum / float64(len(s.Latencies))
}

// Percentile returns the p-th percentile (nearest rank) of the class's
// latencies in milliseconds, NaN when there are none.
func (s ClassStats) Percentile(p float64) float64 { return percentile(s.Latencies, p) }

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || !(p > 0 && p <= 100) {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(p/100*float64(len(s))))-1]
}

// Report is the outcome of a run.
type Report struct {
	// Seed and Config (defaults filled in) and Workload say what ran.
	Seed     uint64
	Config   Config
	Workload Workload
	// History holds every operation, for linz.Check and linz.Stale.
	History linz.History
	// Classes summarises each class of operations, in workload order.
	Classes []ClassStats
	// Staleness counts stale reads over the whole run.
	Staleness linz.Staleness
	// Counters and Messages count what the cluster and network did.
	Counters Counters
	Messages sim.Stats
	// Durability holds, for each acknowledged write, how long after its
	// acknowledgement it first sat on two nodes, in milliseconds (0 when it
	// already did); NotReplicated counts acknowledged writes that never
	// reached a second node during the run.
	Durability    []float64
	NotReplicated int
	// Divergent counts the keys on which a home replica lacks a version
	// stored elsewhere for more than SettleTime, at the end of the run.
	Divergent int
	// DivergentAt and DivergentOver sample the same count every
	// Workload.SampleEvery: the times (seconds) and the counts.
	DivergentAt, DivergentOver []float64
	// Elapsed is the virtual time the run took.
	Elapsed time.Duration
	// ClientRegions holds the region of each client, by client number.
	ClientRegions []sim.Region
}

// Class returns the stats of the named class.
func (r *Report) Class(name string) (ClassStats, bool) {
	for _, c := range r.Classes {
		if c.Name == name {
			return c, true
		}
	}
	return ClassStats{}, false
}

// Reads merges the stats of every read class.
func (r *Report) Reads() ClassStats { return Merge(r.Classes, false) }

// Writes merges the stats of every write class.
func (r *Report) Writes() ClassStats { return Merge(r.Classes, true) }

// Merge merges the stats of the read classes (write false) or of the write
// classes (write true), for example those of [Report.During].
func Merge(classes []ClassStats, write bool) ClassStats {
	out := ClassStats{Name: "reads", Write: write}
	if write {
		out.Name = "writes"
	}
	for _, c := range classes {
		if c.Write == write {
			out.OK += c.OK
			out.Refused += c.Refused
			out.Stale += c.Stale
			out.Latencies = append(out.Latencies, c.Latencies...)
			out.Ages = append(out.Ages, c.Ages...)
		}
	}
	return out
}

// Answered returns the share of all operations that succeeded.
func (r *Report) Answered() float64 {
	ok, all := 0, 0
	for _, c := range r.Classes {
		ok += c.OK
		all += c.OK + c.Refused
	}
	return float64(ok) / float64(all)
}

// Window counts operations by outcome over time: the share answered among
// operations called in each window of width step (NaN where none was
// called), with the window starts in seconds.
func (r *Report) Window(step time.Duration) (starts, answered []float64, err error) {
	if step <= 0 {
		return nil, nil, fmt.Errorf("window step %v must be positive", step)
	}
	n := int(r.Elapsed/step) + 1
	ok, all := make([]int, n), make([]int, n)
	for _, o := range r.History.Ops {
		i := min(int(o.Call/step), n-1)
		all[i]++
		if !o.Failed {
			ok[i]++
		}
	}
	for i := range n {
		starts = append(starts, (time.Duration(i) * step).Seconds())
		if all[i] == 0 {
			answered = append(answered, math.NaN())
		} else {
			answered = append(answered, float64(ok[i])/float64(all[i]))
		}
	}
	return starts, answered, nil
}

// During returns the report's history restricted to operations called in
// [from, to), summarised per class like Report.Classes.
func (r *Report) During(from, to time.Duration) []ClassStats { return r.Select(from, to) }

// Select is During restricted to the clients in the given regions (every
// client when none is given): what one side of a partition saw.
func (r *Report) Select(from, to time.Duration, regions ...sim.Region) []ClassStats {
	return summarise(r.Workload.classes(), r.History, r.Staleness, func(o linz.Op) bool {
		if o.Call < from || o.Call >= to {
			return false
		}
		if len(regions) == 0 {
			return true
		}
		return o.Client < len(r.ClientRegions) && slices.Contains(regions, r.ClientRegions[o.Client])
	})
}

func summarise(classes []Class, h linz.History, st linz.Staleness, keep func(linz.Op) bool) []ClassStats {
	out := make([]ClassStats, len(classes))
	idx := map[string]int{}
	for i, c := range classes {
		out[i] = ClassStats{Name: c.Name, Write: c.Write}
		idx[c.Name] = i
	}
	stale := map[int]time.Duration{}
	for i, op := range st.StaleOps {
		stale[op] = st.Ages[i]
	}
	for i, o := range h.Ops {
		if !keep(o) {
			continue
		}
		ci, ok := idx[o.Tag]
		if !ok {
			continue
		}
		cs := &out[ci]
		if o.Failed {
			cs.Refused++
			continue
		}
		cs.OK++
		cs.Latencies = append(cs.Latencies, ms(o.Return-o.Call))
		if age, ok := stale[i]; ok {
			cs.Stale++
			cs.Ages = append(cs.Ages, ms(age))
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// PanicError is the error of a run whose Read function panicked; Value is
// what it panicked with (the run goes on, failing those reads, so that the
// error can say so instead of crashing the program).
type PanicError struct{ Value any }

// Error says that the read function panicked, and with what.
func (e *PanicError) Error() string {
	return fmt.Sprintf("the read function panicked during the run: %v", e.Value)
}

// Run builds a cluster from cfg, runs the workload on it until every
// operation has completed, and reports. Same configuration, same workload,
// same report.
func Run(cfg Config, w Workload) (*Report, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return c.Run(w)
}

// Run runs workload w on the cluster (see the package function Run).
func (c *Cluster) Run(w Workload) (*Report, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	classes := w.classes()
	for _, cl := range classes {
		if _, _, err := cl.Level.resolve(c.cfg); err != nil {
			return nil, fmt.Errorf("class %q: %w", cl.Name, err)
		}
	}
	for i, f := range w.Faults {
		f := f
		var perr error
		c.sim.At(f.At, func() {
			if err := c.Partition(f.Sides...); err != nil && perr == nil {
				perr = err
			}
		})
		if f.Heal > 0 {
			c.sim.At(f.Heal, c.Heal)
		}
		// check the sides now, so a bad fault fails before the run
		for _, side := range f.Sides {
			for _, r := range side {
				if !slices.Contains(c.cfg.Regions, r) {
					return nil, fmt.Errorf("fault %d names region %q, which has no node (regions: %v)", i, r, c.cfg.Regions)
				}
			}
		}
	}
	var total float64
	for _, cl := range classes {
		total += cl.Weight
	}
	rng := c.sim.Rand("quorum/workload")
	keys := make([]string, w.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	issued := 0
	var clients []*Client
	for _, n := range c.nodes {
		for range w.ClientsPerNode {
			clients = append(clients, &Client{c: c, id: c.clients, node: n})
			c.clients++
		}
	}
	for _, cl := range clients {
		cl := cl
		seq := 0
		var next func()
		next = func() {
			if issued >= w.Ops {
				return
			}
			issued++
			seq++
			x := rng.Float64() * total
			class := classes[len(classes)-1]
			for _, k := range classes {
				if x < k.Weight {
					class = k
					break
				}
				x -= k.Weight
			}
			key := keys[rng.IntN(len(keys))]
			again := func(Result) { c.sim.After(think(rng.ExpFloat64(), w.Think), next) }
			if class.Write {
				cl.Put(key, fmt.Sprintf("c%d-%d", cl.id, seq), class.Level, class.Name, again)
			} else {
				cl.Get(key, class.Level, class.Name, again)
			}
		}
		c.sim.After(think(rng.Float64(), w.Think), next)
	}
	var divAt, divN []float64
	if w.SampleEvery > 0 {
		var sample func()
		sample = func() {
			divAt = append(divAt, c.sim.Now().Seconds())
			divN = append(divN, float64(len(c.Divergent(SettleTime))))
			c.sim.After(w.SampleEvery, sample)
		}
		c.sim.At(0, sample)
	}
	// Run until every operation has completed and every fault has been
	// applied, then a little longer so that repairs and hinted handoffs in
	// flight land (a partition that never heals must not run forever).
	for c.rec.Len() < w.Ops || c.open() > 0 {
		if !c.sim.Step() {
			break
		}
	}
	last := c.sim.Now()
	for _, f := range w.Faults {
		last = max(last, f.At, f.Heal)
	}
	if err := c.sim.RunUntil(last); err != nil {
		return nil, err
	}
	if err := c.sim.RunFor(c.cfg.Timeout + 2*c.cfg.HandoffEvery); err != nil {
		return nil, err
	}
	if c.panicV != nil {
		return nil, &PanicError{Value: c.panicV}
	}
	h := c.rec.History()
	st, err := linz.Stale(h)
	if err != nil {
		return nil, err
	}
	rep := &Report{Seed: c.cfg.Seed, Config: c.cfg, Workload: w, History: h, Staleness: st,
		Counters: c.counts, Messages: c.net.Stats(), Divergent: len(c.Divergent(SettleTime)), Elapsed: c.sim.Now()}
	rep.DivergentAt, rep.DivergentOver = divAt, divN
	for _, cl := range clients {
		rep.ClientRegions = append(rep.ClientRegions, cl.node.region)
	}
	rep.Classes = summarise(classes, h, st, func(linz.Op) bool { return true })
	var tracks []*copyTrack
	for v, t := range c.copies {
		if t.acked {
			t.ver = v
			tracks = append(tracks, t)
		}
	}
	slices.SortFunc(tracks, func(a, b *copyTrack) int {
		if a.ackAt != b.ackAt {
			return cmp.Compare(a.ackAt, b.ackAt)
		}
		return a.ver.Compare(b.ver)
	})
	for _, t := range tracks {
		switch {
		case bits.OnesCount64(t.nodes) < 2:
			rep.NotReplicated++
		case t.secondAt <= t.ackAt:
			rep.Durability = append(rep.Durability, 0)
		default:
			rep.Durability = append(rep.Durability, ms(t.secondAt-t.ackAt))
		}
	}
	return rep, nil
}

func think(x float64, mean time.Duration) time.Duration {
	return time.Duration(x * float64(mean))
}

package shuffle

import (
	"fmt"
)

// shuffleState is one shuffle's map output and where each block lives.
type shuffleState struct {
	out      shuffleOut
	host     []int // executor holding map m's output; -1: not written or lost
	producer *stagePlan
}

// readSpec is the part of a shuffle one task reads: partitions [lo, hi)
// from map tasks [mlo, mhi).
type readSpec struct {
	sh             *shuffleState
	lo, hi         int
	mlo, mhi       int
	records, bytes int64
	perMap         []int64 // bytes from map task mlo+i
}

// taskPlan is the work of one task, whatever executor runs it.
type taskPlan struct {
	index      int
	inputRows  int64
	inputBytes int64
	pref       int // host holding the input block, -1 for none
	reads      []readSpec
	memBytes   int64
	writeRecs  int64
	writeBytes int64
	build      int64 // rows of a broadcast table to build (once per executor)
	mapIndex   int   // index of the map output it produces, -1 for none
}

func (t *taskPlan) records() int64 {
	n := t.inputRows
	for _, r := range t.reads {
		n += r.records
	}
	return n
}

// stagePlan is a stage: its tasks and the shuffle it writes.
type stagePlan struct {
	id       int
	name     string
	tasks    []taskPlan
	produces *shuffleState
	attempts int
	done     []bool
	nDone    int
}

// plan is the job's stages in order: the stages of one phase run together
// (a join's two map stages); a phase starts when the previous one is done.
type plan struct {
	phases [][]*stagePlan
	splits []Split
	notes  []string
	bcast  int64
}

func (p *plan) note(format string, a ...any) { p.notes = append(p.notes, fmt.Sprintf(format, a...)) }

func newStage(id int, name string, tasks []taskPlan, produces *shuffleState) *stagePlan {
	st := &stagePlan{id: id, name: name, tasks: tasks, produces: produces, done: make([]bool, len(tasks))}
	if produces != nil {
		produces.producer = st
		produces.host = make([]int, len(tasks))
		for i := range produces.host {
			produces.host[i] = -1
		}
	}
	return st
}

// mapStage reads d from maps input blocks and writes sh.
func (c *Config) mapStage(id int, name string, d Data, sh *shuffleState, inputHosts int) *stagePlan {
	tasks := make([]taskPlan, len(sh.out.rowsIn))
	for m := range tasks {
		var recs int64
		for _, r := range sh.out.records[m] {
			recs += r
		}
		tasks[m] = taskPlan{
			index: m, inputRows: sh.out.rowsIn[m], inputBytes: sh.out.rowsIn[m] * d.RowBytes,
			pref: m % inputHosts, writeRecs: recs, writeBytes: recs * sh.out.rowSize, mapIndex: m,
			memBytes: int64(float64(sh.out.rowsIn[m]*d.RowBytes) * 0.25),
		}
	}
	return newStage(id, name, tasks, sh)
}

// read returns a readSpec over partitions [lo, hi) and maps [mlo, mhi),
// with the bytes it fetches from each map task.
func read(sh *shuffleState, lo, hi, mlo, mhi int) readSpec {
	r := readSpec{sh: sh, lo: lo, hi: hi, mlo: mlo, mhi: mhi, perMap: make([]int64, mhi-mlo)}
	for m := mlo; m < mhi; m++ {
		var n int64
		for _, x := range sh.out.records[m][lo:hi] {
			n += x
		}
		r.records += n
		r.perMap[m-mlo] = n * sh.out.rowSize
	}
	r.bytes = r.records * sh.out.rowSize
	return r
}

func (c *Config) inputHosts() int {
	n := c.Cluster.Executors
	for _, f := range c.Faults {
		if f.Kind == InputOnHosts {
			n = min(n, f.Host+1)
		}
	}
	return n
}

// groups is how the reduce stage reads partitions after AQE: contiguous
// ranges, each one task, or a skewed partition cut into map ranges.
type group struct {
	lo, hi int
	// parts of a split partition: map start indexes; nil when not split.
	starts []int
}

func rangesOf(starts []int, n int) []group {
	g := make([]group, len(starts))
	for i, s := range starts {
		end := n
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		g[i] = group{lo: s, hi: end}
	}
	return g
}

// coalesced groups the reduce partitions (no split) as AQE would.
func (c *Config) coalesced(sizes []int64) []group {
	if !c.AQE.Enabled || !c.AQE.Coalesce {
		return rangesOf(seq(len(sizes)), len(sizes))
	}
	var total int64
	for _, s := range sizes {
		total += s
	}
	target := c.AQE.CoalesceTarget(total, c.Cluster.Executors*c.Cluster.Cores)
	return rangesOf(CoalesceRanges(sizes, target), len(sizes))
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// build turns the Config into stages.
func (c *Config) build() (*plan, error) {
	pl := &plan{}
	salts := max(c.Salt, 1)
	P := c.ShufflePartitions
	hosts := c.inputHosts()
	execMem := c.Cluster.ExecutionMemory()
	part := func(k int) int { return PartitionOf(k, P) }
	switch c.Kind {
	case Aggregate:
		fact := c.Fact
		if salts > 1 {
			fact = fact.salted(salts, true)
		}
		sh := &shuffleState{out: writeShuffle(fact, c.MapTasks, P, part, c.MapSideCombine, c.AggBytes)}
		mapSt := c.mapStage(0, "map", fact, sh, hosts)
		if c.AQE.Enabled && c.AQE.SkewJoin {
			pl.note("AQE's skew-join rule splits only sort-merge and shuffled hash joins: this aggregation's hot partitions stay whole")
		}
		// keys with rows, per partition, for the size of a hash aggregate.
		keysIn := make([]int64, P)
		for k, n := range fact.Counts {
			if n > 0 {
				keysIn[part(k)]++
			}
		}
		reduceTasks := func(sh *shuffleState, keys []int64, writeTo func(g group) (int64, int64)) []taskPlan {
			sizes := sh.out.partitionRecords()
			for p := range sizes {
				sizes[p] *= sh.out.rowSize
			}
			gs := c.coalesced(sizes)
			tasks := make([]taskPlan, len(gs))
			for i, g := range gs {
				r := read(sh, g.lo, g.hi, 0, len(sh.out.records))
				var keyCount int64
				for p := g.lo; p < g.hi; p++ {
					keyCount += keys[p]
				}
				mem := int64(float64(r.bytes) * c.Cost.Expansion)
				if c.MapSideCombine {
					mem = int64(float64(keyCount*c.AggBytes) * c.Cost.Expansion)
				}
				tasks[i] = taskPlan{index: i, pref: -1, reads: []readSpec{r}, memBytes: mem, mapIndex: -1}
				if writeTo != nil {
					tasks[i].writeRecs, tasks[i].writeBytes = writeTo(g)
					tasks[i].mapIndex = i
				}
			}
			return tasks
		}
		if salts == 1 {
			red := newStage(1, "reduce", reduceTasks(sh, keysIn, nil), nil)
			pl.phases = [][]*stagePlan{{mapSt}, {red}}
			break
		}
		// Salted: the partial stage writes one record per (key, salt) it
		// holds, hashed by the original key, and a final stage merges them.
		partialTasks := reduceTasks(sh, keysIn, nil)
		// which partial task holds each salted partition
		owner := make([]int, P)
		for i, t := range partialTasks {
			for p := t.reads[0].lo; p < t.reads[0].hi; p++ {
				owner[p] = i
			}
		}
		final := shuffleOut{records: make([][]int64, len(partialTasks)), rowsIn: make([]int64, len(partialTasks)), rowSize: c.AggBytes}
		for i := range final.records {
			final.records[i] = make([]int64, P)
		}
		finalKeys := make([]int64, P)
		for id, n := range fact.Counts {
			if n == 0 {
				continue
			}
			k := id / salts
			final.records[owner[part(id)]][PartitionOf(k, P)]++
			if id%salts == 0 {
				finalKeys[PartitionOf(k, P)]++
			}
		}
		fsh := &shuffleState{out: final}
		for i := range partialTasks {
			var n int64
			for _, r := range final.records[i] {
				n += r
			}
			partialTasks[i].writeRecs, partialTasks[i].writeBytes, partialTasks[i].mapIndex = n, n*c.AggBytes, i
		}
		partial := newStage(1, fmt.Sprintf("partial (salted x%d)", salts), partialTasks, fsh)
		finalTasks := make([]taskPlan, P)
		mem := func(keys int64) int64 { return int64(float64(keys*c.AggBytes) * c.Cost.Expansion) }
		for p := range finalTasks {
			r := read(fsh, p, p+1, 0, len(partialTasks))
			finalTasks[p] = taskPlan{index: p, pref: -1, reads: []readSpec{r}, memBytes: mem(finalKeys[p]), mapIndex: -1}
		}
		pl.phases = [][]*stagePlan{{mapSt}, {partial}, {newStage(2, "merge salts", finalTasks, nil)}}
	case Join:
		fact, dim := c.Fact, c.Dim
		if salts > 1 {
			fact, dim = fact.salted(salts, true), dim.salted(salts, false)
		}
		strategy := c.Strategy
		if strategy == Auto {
			strategy = SortMerge
			if dim.Bytes() <= c.BroadcastThreshold {
				strategy = Broadcast
			}
		}
		if strategy == Broadcast {
			inMem := int64(float64(dim.Bytes()) * c.Cost.Expansion)
			if pool := execMem * int64(c.Cluster.Cores); inMem > pool {
				return nil, fmt.Errorf("broadcast: the small side is %d MB in memory, more than an executor's %d MB of execution memory: it would fail with an OutOfMemoryError; use a sort-merge join", inMem/MB, pool/MB)
			}
			pl.bcast = dim.Bytes()
			dsh := &shuffleState{out: writeShuffle(dim, c.DimMapTasks, 1, func(int) int { return 0 }, false, c.AggBytes)}
			collect := c.mapStage(0, "collect dim for broadcast", dim, dsh, hosts)
			tasks := make([]taskPlan, c.MapTasks)
			rows := writeShuffle(fact, c.MapTasks, 1, func(int) int { return 0 }, false, c.AggBytes)
			for m := range tasks {
				tasks[m] = taskPlan{index: m, inputRows: rows.rowsIn[m], inputBytes: rows.rowsIn[m] * fact.RowBytes,
					pref: m % hosts, build: dim.Rows(), memBytes: inMem / int64(c.Cluster.Cores), mapIndex: -1}
			}
			pl.phases = [][]*stagePlan{{collect}, {newStage(1, "broadcast hash join", tasks, nil)}}
			break
		}
		fsh := &shuffleState{out: writeShuffle(fact, c.MapTasks, P, part, false, c.AggBytes)}
		dsh := &shuffleState{out: writeShuffle(dim, c.DimMapTasks, P, part, false, c.AggBytes)}
		fm := c.mapStage(0, "map fact", fact, fsh, hosts)
		dm := c.mapStage(1, "map dim", dim, dsh, hosts)
		groups, splits := c.joinGroups(fsh, dsh)
		pl.splits = splits
		splitLeft, _ := SplittableSides(c.JoinType)
		if c.AQE.Enabled && c.AQE.SkewJoin && !splitLeft {
			pl.note("a %s join cannot split its left side: AQE leaves a skewed fact partition whole", c.JoinType)
		}
		var tasks []taskPlan
		for _, g := range groups {
			dr := read(dsh, g.lo, g.hi, 0, c.DimMapTasks)
			if g.starts == nil {
				fr := read(fsh, g.lo, g.hi, 0, c.MapTasks)
				tasks = append(tasks, taskPlan{index: len(tasks), pref: -1, reads: []readSpec{fr, dr},
					memBytes: int64(float64(fr.bytes+dr.bytes) * c.Cost.Expansion), mapIndex: -1})
				continue
			}
			for i, s := range g.starts {
				e := c.MapTasks
				if i+1 < len(g.starts) {
					e = g.starts[i+1]
				}
				fr := read(fsh, g.lo, g.hi, s, e)
				tasks = append(tasks, taskPlan{index: len(tasks), pref: -1, reads: []readSpec{fr, dr},
					memBytes: int64(float64(fr.bytes+dr.bytes) * c.Cost.Expansion), mapIndex: -1})
			}
		}
		pl.phases = [][]*stagePlan{{fm, dm}, {newStage(2, "sort-merge join", tasks, nil)}}
	}
	return pl, nil
}

// joinGroups applies AQE to a sort-merge join: skewed fact partitions are
// split (when the join type allows it), and the other partitions are
// coalesced between them.
func (c *Config) joinGroups(fsh, dsh *shuffleState) ([]group, []Split) {
	P := c.ShufflePartitions
	fb := fsh.out.blockBytes()
	sizes := make([]int64, P)
	both := make([]int64, P)
	for p := range P {
		for _, b := range fb[p] {
			sizes[p] += b
		}
		both[p] = sizes[p]
		for m := range dsh.out.records {
			both[p] += dsh.out.records[m][p] * dsh.out.rowSize
		}
	}
	if !c.AQE.Enabled {
		return rangesOf(seq(P), P), nil
	}
	var splits []Split
	skewed := map[int]Split{}
	if left, _ := SplittableSides(c.JoinType); c.AQE.SkewJoin && left {
		all, _ := c.AQE.SkewSplits(fb)
		for _, s := range all {
			if s.Parts > 1 {
				skewed[s.Partition] = s
				splits = append(splits, s)
			}
		}
	}
	if !c.AQE.Coalesce {
		var gs []group
		for p := range P {
			g := group{lo: p, hi: p + 1}
			if s, ok := skewed[p]; ok {
				g.starts = s.Starts
			}
			gs = append(gs, g)
		}
		return gs, splits
	}
	var total int64
	for _, b := range both {
		total += b
	}
	target := c.AQE.CoalesceTarget(total, c.Cluster.Executors*c.Cluster.Cores)
	var gs []group
	flush := func(lo, hi int) {
		for _, s := range CoalesceRanges(both[lo:hi], target) {
			gs = append(gs, group{lo: lo + s})
		}
	}
	lo := 0
	for p := 0; p <= P; p++ {
		if s, ok := skewed[p]; ok || p == P {
			if p > lo {
				flush(lo, p)
			}
			if ok {
				gs = append(gs, group{lo: p, starts: s.Starts})
			}
			lo = p + 1
		}
	}
	for i := range gs {
		switch {
		case gs[i].starts != nil:
			gs[i].hi = gs[i].lo + 1
		case i+1 < len(gs):
			gs[i].hi = gs[i+1].lo
		default:
			gs[i].hi = P
		}
	}
	return gs, splits
}

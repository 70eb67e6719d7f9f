package shuffle

import (
	"math"
	"time"
)

// cost is the task model: what the attempt of t measures on executor ex.
func (e *engine) cost(m *TaskMetrics, t *taskRun, ex int, loc string) {
	c, p := e.c.Cost, t.p
	cores := float64(e.c.Cluster.Cores)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	diskBW := e.c.Cluster.Disk / cores / e.slow[ex]
	*m = TaskMetrics{Executor: e.names[ex][0], Host: e.names[ex][1], Locality: loc,
		InputRecords: p.inputRows, InputBytes: p.inputBytes, ShuffleWriteRecords: p.writeRecs, ShuffleWriteBytes: p.writeBytes}
	noise := math.Exp(c.Noise * e.rng.NormFloat64())
	records := p.records()
	if p.build > 0 && !e.built[[2]int{t.st.plan.id, ex}] {
		e.built[[2]int{t.st.plan.id, ex}] = true
		records += p.build
	}
	compute := float64(records) * c.PerRecord.Seconds() * e.slow[ex] * noise
	var io float64
	if p.inputBytes > 0 {
		if loc == "ANY" {
			// read from the remote host's disk, then across the network
			io += float64(p.inputBytes)/(e.c.Cluster.Disk/cores/e.slow[p.pref]) + float64(p.inputBytes)/(min(e.net[ex], e.net[p.pref])/cores)
		} else {
			io += float64(p.inputBytes) / diskBW
		}
	}
	var fetch float64
	for _, r := range p.reads {
		m.ShuffleReadRecords += r.records
		m.ShuffleReadBytes += r.bytes
		for i, b := range r.perMap {
			if b == 0 {
				continue
			}
			src := r.sh.host[r.mlo+i]
			if src == ex || src < 0 {
				io += float64(b) / diskBW
				continue
			}
			m.ShuffleRemoteBytes += b
			// the source reads the block from its disk and sends it
			fetch += float64(b)/(e.c.Cluster.Disk/cores/e.slow[src]) + float64(b)/(min(e.net[ex], e.net[src])/cores)
		}
	}
	wait := max(0, fetch-compute)
	pressure := min(1, float64(p.memBytes)/float64(e.execMem))
	gc := compute * (c.GC + 0.5*pressure*pressure) * e.gc[ex]
	var spill float64
	if p.memBytes > e.execMem {
		m.MemorySpilled = p.memBytes
		m.DiskSpilled = int64(float64(p.memBytes) / c.Expansion)
		spill = 2 * float64(m.DiskSpilled) / diskBW
	}
	io += float64(p.writeBytes) / diskBW
	m.DeserializeTime = c.Deserialize
	m.GCTime = sec(gc)
	m.FetchWait = sec(wait)
	m.CPUTime = sec(compute)
	m.RunTime = c.Deserialize + sec(compute+gc+spill+io) + m.FetchWait
	m.Duration = c.Launch + m.RunTime
}

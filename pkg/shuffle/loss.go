package shuffle

import (
	"fmt"
	"slices"
)

// lose kills an executor: its running attempts fail, and without a
// shuffle service its map outputs are gone, so the stages that read them
// fail with FetchFailed and run again after the lost map tasks.
func (e *engine) lose(ex int) {
	if e.done || !e.alive[ex] {
		return
	}
	e.alive[ex], e.free[ex] = false, 0
	var failedStages []*stageRun
	for _, st := range slices.Clone(e.active) {
		for _, t := range st.tasks {
			for _, a := range slices.Clone(t.running) {
				if a.exec != ex {
					continue
				}
				a.timer.Stop()
				e.release(a)
				e.record(a, "FAILED", fmt.Sprintf("ExecutorLostFailure (executor %d exited)", ex))
				e.recycle(a)
				if len(t.running) == 0 && !t.done {
					e.enqueue(t)
				}
			}
		}
	}
	if e.c.ShuffleService {
		e.schedule()
		return
	}
	lostSh := map[*shuffleState]bool{}
	for _, ph := range e.pl.phases[:e.phase+1] {
		for _, sp := range ph {
			sh := sp.produces
			if sh == nil {
				continue
			}
			for m, h := range sh.host {
				if h == ex {
					sh.host[m] = -1
					lostSh[sh] = true
					// a map stage still running re-runs its lost task
					for _, st := range e.active {
						if st.plan == sp {
							for _, t := range st.tasks {
								if t.p.mapIndex == m && t.done {
									t.done = false
									sp.done[m] = false
									sp.nDone--
									st.remaining++
									e.res.Recomputed++
									e.enqueue(t)
								}
							}
						}
					}
				}
			}
		}
	}
	for _, st := range slices.Clone(e.active) {
		reads := false
		for _, t := range st.tasks {
			for _, r := range t.p.reads {
				if lostSh[r.sh] && !e.producing(r.sh) {
					reads = true
				}
			}
		}
		if reads && st.waiting == 0 {
			failedStages = append(failedStages, st)
		}
	}
	for _, st := range failedStages {
		var left []int
		for _, t := range st.tasks {
			for _, a := range slices.Clone(t.running) {
				a.timer.Stop()
				e.release(a)
				e.record(a, "FAILED", fmt.Sprintf("FetchFailed (map output on executor %d lost)", ex))
				e.recycle(a)
			}
			t.queued = false
			if !t.done {
				left = append(left, t.p.index)
			}
		}
		st.closed = true
		e.res.Stages[st.out].End = e.s.Now()
		e.active = slices.DeleteFunc(e.active, func(s *stageRun) bool { return s == st })
		next := e.startStage(st.plan, left, st.recovery)
		next.notify = st.notify
	}
	e.schedule()
}

// producing reports whether the stage writing sh is still running (its
// own lost tasks re-run there, no FetchFailed needed).
func (e *engine) producing(sh *shuffleState) bool {
	for _, st := range e.active {
		if st.plan == sh.producer && !st.recovery {
			return true
		}
	}
	return false
}

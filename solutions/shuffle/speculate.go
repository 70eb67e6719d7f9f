package shuffle

import (
	"math"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/shuffle"
)

// Speculatable returns, in the order given, the indexes (TaskState.Index)
// of the running tasks that get a speculative copy now, as Spark's
// TaskSetManager decides. Nothing, unless s.Enabled and at least
// floor(s.Quantile x len(tasks)) tasks (and at least one) are Done. Then
// the threshold is max(s.Multiplier x the median Duration of the done
// tasks, s.MinRuntime), the median being element n/2 of the sorted
// durations. A running task without a copy (not Copied) whose Runtime is
// above the threshold is copied; with s.Efficiency, only if it is also
// inefficient: its rate Records/Runtime is below s.ProcessRateMultiplier x
// the done tasks' rate (their Records over their Durations, summed), or
// its Runtime is above s.LongRunTaskFactor x the threshold.
//
//dsgym:exercise shuffle/speculate
func Speculatable(tasks []shuffle.TaskState, s shuffle.Speculation) []int {
	//dsgym:solution
	if !s.Enabled {
		return nil
	}
	var done []time.Duration
	var recs int64
	var took time.Duration
	for _, t := range tasks {
		if t.Done {
			done = append(done, t.Duration)
			recs += t.Records
			took += t.Duration
		}
	}
	if len(done) == 0 || len(done) < int(math.Floor(s.Quantile*float64(len(tasks)))) {
		return nil
	}
	slices.Sort(done)
	th := max(time.Duration(s.Multiplier*float64(done[len(done)/2])), s.MinRuntime)
	avg := 0.0
	if took > 0 {
		avg = float64(recs) / took.Seconds()
	}
	var out []int
	for _, t := range tasks {
		if t.Done || !t.Running || t.Copied || t.Runtime <= th {
			continue
		}
		if s.Efficiency && avg > 0 {
			slow := float64(t.Records)/t.Runtime.Seconds() < s.ProcessRateMultiplier*avg
			long := float64(t.Runtime) > s.LongRunTaskFactor*float64(th)
			if !slow && !long {
				continue
			}
		}
		out = append(out, t.Index)
	}
	return out
	//dsgym:stub
	// panic("not implemented yet: Speculatable: wait for floor(quantile x tasks) done; threshold = max(multiplier x median, MinRuntime); copy running, uncopied tasks past it that are inefficient (slow rate or past LongRunTaskFactor x threshold)")
	//dsgym:end
}

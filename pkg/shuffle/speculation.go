package shuffle

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Speculation holds spark.speculation.*: when the scheduler launches a
// second copy of a slow task on another host, the first copy to finish
// wins and the other is killed. DefaultSpeculation has Spark 4's values
// (core/.../internal/config/package.scala; docs/core-migration-guide.md:
// "Since Spark 4.0, Spark performs speculative executions less
// aggressively with spark.speculation.multiplier=3 and
// spark.speculation.quantile=0.9").
type Speculation struct {
	// Enabled is spark.speculation (false).
	Enabled bool
	// Interval is spark.speculation.interval (100 ms): how often the
	// scheduler looks for slow tasks.
	Interval time.Duration
	// Multiplier is spark.speculation.multiplier (3): how many times slower
	// than the median a task must be.
	Multiplier float64
	// Quantile is spark.speculation.quantile (0.9): the fraction of a
	// stage's tasks that must have finished before any copy is launched.
	Quantile float64
	// MinRuntime is spark.speculation.minTaskRuntime (100 ms).
	MinRuntime time.Duration
	// Efficiency is spark.speculation.efficiency.enabled (true, Spark 3.4):
	// a slow task is copied only if it processes records slower than
	// ProcessRateMultiplier x the stage's average rate, or if it has run
	// longer than LongRunTaskFactor x the threshold. A task that is slow
	// because it has more data (skew) has a normal rate, so it is copied
	// late or not at all.
	Efficiency bool
	// ProcessRateMultiplier is ...efficiency.processRateMultiplier (0.75).
	ProcessRateMultiplier float64
	// LongRunTaskFactor is ...efficiency.longRunTaskFactor (2).
	LongRunTaskFactor float64
}

// DefaultSpeculation returns Spark 4's speculation settings, switched on.
func DefaultSpeculation() Speculation {
	return Speculation{
		Enabled: true, Interval: 100 * time.Millisecond, Multiplier: 3, Quantile: 0.9,
		MinRuntime: 100 * time.Millisecond, Efficiency: true, ProcessRateMultiplier: 0.75, LongRunTaskFactor: 2,
	}
}

// Validate reports settings the scheduler could not use.
func (s Speculation) Validate() error {
	switch {
	case !(s.Quantile > 0 && s.Quantile <= 1):
		return fmt.Errorf("speculation: quantile %v is outside (0, 1]", s.Quantile)
	case s.Multiplier < 1:
		return fmt.Errorf("speculation: multiplier %v is below 1: every task would be slower than the median times it", s.Multiplier)
	case s.Interval <= 0:
		return fmt.Errorf("speculation: interval %v must be positive", s.Interval)
	case s.MinRuntime < 0:
		return fmt.Errorf("speculation: minTaskRuntime %v is negative", s.MinRuntime)
	case s.Efficiency && (s.ProcessRateMultiplier <= 0 || s.LongRunTaskFactor < 1):
		return fmt.Errorf("speculation: efficiency needs processRateMultiplier > 0 and longRunTaskFactor >= 1 (got %v, %v)", s.ProcessRateMultiplier, s.LongRunTaskFactor)
	}
	return nil
}

// TaskState is what the scheduler knows about one task of a stage when it
// checks for speculation.
type TaskState struct {
	// Index is the task's partition index in the stage.
	Index int
	// Done is true once a copy has succeeded; Duration is then its time.
	Done     bool
	Duration time.Duration
	// Running: the task has one copy running for Runtime so far.
	Running bool
	Runtime time.Duration
	// Copied: a speculative copy is already running or queued.
	Copied bool
	// Records is how many records the task has processed (for a finished
	// task, all of them); its rate is Records / Runtime (or Duration).
	Records int64
}

// Threshold returns how long a task must have run to be copied, and
// whether enough tasks have finished for the check to run at all:
// floor(Quantile x tasks) (at least 1) must have succeeded, and the
// threshold is max(Multiplier x median duration of those, MinRuntime).
func (s Speculation) Threshold(tasks []TaskState) (time.Duration, bool) {
	var done []time.Duration
	for _, t := range tasks {
		if t.Done {
			done = append(done, t.Duration)
		}
	}
	need := max(int(math.Floor(s.Quantile*float64(len(tasks)))), 1)
	if len(done) < need || len(done) == 0 {
		return 0, false
	}
	slices.Sort(done)
	median := done[len(done)/2]
	return max(time.Duration(s.Multiplier*float64(median)), s.MinRuntime), true
}

// Speculatable returns the indexes of the running tasks that get a copy
// now (TaskSetManager.checkSpeculatableTasks): none before the quantile of
// tasks has finished; then every running task without a copy whose
// runtime exceeds the threshold and, with Efficiency, that is also
// inefficient (its record rate below ProcessRateMultiplier x the finished
// tasks' average, or its runtime past LongRunTaskFactor x the threshold).
func (s Speculation) Speculatable(tasks []TaskState) []int {
	if !s.Enabled {
		return nil
	}
	th, ok := s.Threshold(tasks)
	if !ok {
		return nil
	}
	var doneRecords int64
	var doneTime time.Duration
	for _, t := range tasks {
		if t.Done {
			doneRecords += t.Records
			doneTime += t.Duration
		}
	}
	avgRate := 0.0
	if doneTime > 0 {
		avgRate = float64(doneRecords) / doneTime.Seconds()
	}
	var out []int
	for _, t := range tasks {
		if !t.Done && s.copy(t, th, avgRate) {
			out = append(out, t.Index)
		}
	}
	return out
}

// copy decides for one running task, given the threshold and the finished
// tasks' average record rate.
func (s Speculation) copy(t TaskState, th time.Duration, avgRate float64) bool {
	if !t.Running || t.Copied || t.Runtime <= th {
		return false
	}
	if s.Efficiency && avgRate > 0 {
		rate := float64(t.Records) / t.Runtime.Seconds()
		longRun := float64(t.Runtime) > s.LongRunTaskFactor*float64(th)
		return longRun || rate < s.ProcessRateMultiplier*avgRate
	}
	return true
}

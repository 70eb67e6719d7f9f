package spark

import (
	"context"
	"slices"
	"time"
)

// TaskMetrics is what one task attempt measured, flattened from the REST
// API's Task.
type TaskMetrics struct {
	Stage, StageAttempt int
	TaskID              int64
	Index, Partition    int
	Attempt             int
	Status              string // SUCCESS, FAILED, KILLED, RUNNING
	Speculative         bool
	Executor            string

	// Duration is the task's wall time from launch to end (scheduling and
	// deserialization included); never 0 for a finished task.
	Duration time.Duration
	// RunTime is executorRunTime, the time spent running the task's code.
	// Spark reports whole milliseconds: a tiny task may show 0.
	RunTime time.Duration
	// CPUTime is executorCpuTime.
	CPUTime time.Duration
	// GCTime is the JVM garbage collection time during the task.
	GCTime time.Duration

	InputRecords, InputBytes int64
	// ShuffleReadRecords and ShuffleReadBytes count local and remote
	// blocks together.
	ShuffleReadRecords, ShuffleReadBytes   int64
	ShuffleWriteRecords, ShuffleWriteBytes int64
	// MemorySpilled is the in-memory size of what was spilled, DiskSpilled
	// its size on disk.
	MemorySpilled, DiskSpilled int64
}

// Metrics flattens a Task of a stage attempt.
func (t Task) Metrics(stage, attempt int) TaskMetrics {
	m := TaskMetrics{
		Stage: stage, StageAttempt: attempt,
		TaskID: t.TaskID, Index: t.Index, Partition: t.PartitionID, Attempt: t.Attempt,
		Status: t.Status, Speculative: t.Speculative, Executor: t.ExecutorID,
		Duration: time.Duration(t.Duration) * time.Millisecond,
	}
	if r := t.TaskMetrics; r != nil {
		m.RunTime = time.Duration(r.ExecutorRunTime) * time.Millisecond
		m.CPUTime = time.Duration(r.ExecutorCPUTime)
		m.GCTime = time.Duration(r.JVMGCTime) * time.Millisecond
		m.InputRecords = r.InputMetrics.RecordsRead
		m.InputBytes = r.InputMetrics.BytesRead
		m.ShuffleReadRecords = r.ShuffleReadMetrics.RecordsRead
		m.ShuffleReadBytes = r.ShuffleReadMetrics.LocalBytesRead + r.ShuffleReadMetrics.RemoteBytesRead
		m.ShuffleWriteRecords = r.ShuffleWriteMetrics.RecordsWritten
		m.ShuffleWriteBytes = r.ShuffleWriteMetrics.BytesWritten
		m.MemorySpilled = r.MemoryBytesSpilled
		m.DiskSpilled = r.DiskBytesSpilled
	}
	return m
}

// TaskMetrics returns the metrics of every task of one stage attempt,
// ordered by partition, then by task attempt.
func (u *UI) TaskMetrics(ctx context.Context, app string, stage, attempt int) ([]TaskMetrics, error) {
	tasks, err := u.Tasks(ctx, app, stage, attempt)
	if err != nil {
		return nil, err
	}
	out := make([]TaskMetrics, len(tasks))
	for i, t := range tasks {
		out[i] = t.Metrics(stage, attempt)
	}
	slices.SortFunc(out, func(a, b TaskMetrics) int {
		if a.Partition != b.Partition {
			return a.Partition - b.Partition
		}
		return a.Attempt - b.Attempt
	})
	return out, nil
}

// Succeeded keeps the tasks whose Status is SUCCESS: the attempts whose
// output counts (a killed speculative copy or a failed attempt does not).
func Succeeded(tasks []TaskMetrics) []TaskMetrics {
	var out []TaskMetrics
	for _, t := range tasks {
		if t.Status == "SUCCESS" {
			out = append(out, t)
		}
	}
	return out
}

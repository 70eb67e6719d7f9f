package spark

import (
	"context"
	"github.com/dsgym/dsgym/pkg/shuffle"
	"slices"
	"time"
)

// TaskMetrics is what one task attempt measured, flattened from the REST
// API's Task. It is pkg/shuffle's type, so that the simulator's tasks and a
// real Spark's go through one diagnosis.
type TaskMetrics = shuffle.TaskMetrics

// Metrics flattens a Task of a stage attempt.
func (t Task) Metrics(stage, attempt int) TaskMetrics {
	m := TaskMetrics{
		Stage: stage, StageAttempt: attempt,
		TaskID: t.TaskID, Index: t.Index, Partition: t.PartitionID, Attempt: t.Attempt,
		Status: t.Status, Speculative: t.Speculative, Executor: t.ExecutorID,
		Host: t.Host, Locality: t.TaskLocality, Error: t.ErrorMessage,
		Duration: time.Duration(t.Duration) * time.Millisecond,
	}
	if r := t.TaskMetrics; r != nil {
		m.RunTime = time.Duration(r.ExecutorRunTime) * time.Millisecond
		m.DeserializeTime = time.Duration(r.ExecutorDeserializeTime) * time.Millisecond
		m.FetchWait = time.Duration(r.ShuffleReadMetrics.FetchWaitTime) * time.Millisecond
		m.ShuffleRemoteBytes = r.ShuffleReadMetrics.RemoteBytesRead
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

// Succeeded keeps the tasks whose Status is SUCCESS (see shuffle.Succeeded).
func Succeeded(tasks []TaskMetrics) []TaskMetrics { return shuffle.Succeeded(tasks) }

package shuffle

import "time"

// TaskMetrics is what one task attempt measured: the fields of a task in
// the Spark UI's REST API (/api/v1/applications/<app>/stages/<id>/<attempt>/taskList)
// that explain a slow task. The simulator fills it, pkg/spark fills it from
// a real Spark, and Diagnose reads it, so one diagnosis serves both.
type TaskMetrics struct {
	Stage, StageAttempt int
	TaskID              int64
	Index, Partition    int
	Attempt             int
	Status              string // SUCCESS, FAILED, KILLED, RUNNING
	Speculative         bool
	Executor            string
	Host                string
	// Locality is Spark's locality level: PROCESS_LOCAL, NODE_LOCAL,
	// RACK_LOCAL or ANY.
	Locality string

	// Launch is when the attempt started, from the job's start (simulated
	// runs) or from the epoch (real runs); zero when unknown.
	Launch time.Duration
	// Duration is the task's wall time from launch to end (scheduling and
	// deserialization included); never 0 for a finished task.
	Duration time.Duration
	// RunTime is executorRunTime, the time spent running the task's code.
	// Spark reports whole milliseconds: a tiny task may show 0.
	RunTime time.Duration
	// DeserializeTime is executorDeserializeTime.
	DeserializeTime time.Duration
	// CPUTime is executorCpuTime.
	CPUTime time.Duration
	// GCTime is the JVM garbage collection time during the task.
	GCTime time.Duration
	// FetchWait is the time the task blocked waiting for shuffle blocks.
	FetchWait time.Duration

	InputRecords, InputBytes int64
	// ShuffleReadRecords and ShuffleReadBytes count local and remote
	// blocks together; ShuffleRemoteBytes is the remote part.
	ShuffleReadRecords, ShuffleReadBytes   int64
	ShuffleRemoteBytes                     int64
	ShuffleWriteRecords, ShuffleWriteBytes int64
	// MemorySpilled is the in-memory size of what was spilled, DiskSpilled
	// its size on disk.
	MemorySpilled, DiskSpilled int64
	// Error is why a failed attempt failed (FetchFailed, ExecutorLost...).
	Error string
}

// Records is what the task processed: input plus shuffle records read.
func (t TaskMetrics) Records() int64 { return t.InputRecords + t.ShuffleReadRecords }

// Bytes is what the task read: input plus shuffle bytes.
func (t TaskMetrics) Bytes() int64 { return t.InputBytes + t.ShuffleReadBytes }

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

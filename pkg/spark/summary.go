package spark

import (
	"slices"
	"time"
)

// Summary sums and ranks the tasks of one stage: the numbers a skew or
// straggler chapter puts side by side.
type Summary struct {
	Tasks int
	// Totals over the tasks.
	ShuffleReadRecords, ShuffleReadBytes   int64
	ShuffleWriteRecords, ShuffleWriteBytes int64
	InputRecords                           int64
	MemorySpilled, DiskSpilled             int64
	// Median and largest task run time (executorRunTime).
	MedianRunTime, MaxRunTime time.Duration
	// Median and largest shuffle records read by one task: their ratio is
	// the skew.
	MedianReadRecords, MaxReadRecords int64
}

// Summarize sums and ranks tasks (pass Succeeded(tasks) to count each
// partition once).
func Summarize(tasks []TaskMetrics) Summary {
	s := Summary{Tasks: len(tasks)}
	if len(tasks) == 0 {
		return s
	}
	run := make([]time.Duration, len(tasks))
	read := make([]int64, len(tasks))
	for i, t := range tasks {
		s.ShuffleReadRecords += t.ShuffleReadRecords
		s.ShuffleReadBytes += t.ShuffleReadBytes
		s.ShuffleWriteRecords += t.ShuffleWriteRecords
		s.ShuffleWriteBytes += t.ShuffleWriteBytes
		s.InputRecords += t.InputRecords
		s.MemorySpilled += t.MemorySpilled
		s.DiskSpilled += t.DiskSpilled
		run[i] = t.RunTime
		read[i] = t.ShuffleReadRecords
	}
	slices.Sort(run)
	slices.Sort(read)
	s.MedianRunTime, s.MaxRunTime = run[len(run)/2], run[len(run)-1]
	s.MedianReadRecords, s.MaxReadRecords = read[len(read)/2], read[len(read)-1]
	return s
}

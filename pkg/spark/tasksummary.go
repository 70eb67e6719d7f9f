package spark

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// TaskSummary is /applications/<app>/stages/<id>/<attempt>/taskSummary:
// the distribution of a stage's task metrics at the quantiles asked for,
// computed by Spark over the stage's successful tasks. Times are in
// milliseconds (executorCpuTime in nanoseconds), as Spark reports them.
type TaskSummary struct {
	Quantiles               []float64 `json:"quantiles"`
	Duration                []float64 `json:"duration"`
	ExecutorDeserializeTime []float64 `json:"executorDeserializeTime"`
	ExecutorRunTime         []float64 `json:"executorRunTime"`
	JVMGCTime               []float64 `json:"jvmGcTime"`
	MemoryBytesSpilled      []float64 `json:"memoryBytesSpilled"`
	DiskBytesSpilled        []float64 `json:"diskBytesSpilled"`
	ShuffleReadMetrics      struct {
		ReadBytes     []float64 `json:"readBytes"`
		ReadRecords   []float64 `json:"readRecords"`
		FetchWaitTime []float64 `json:"fetchWaitTime"`
	} `json:"shuffleReadMetrics"`
}

// TaskSummary asks Spark for the quantiles qs (each in [0, 1]) of one
// stage attempt's task metrics: the numbers the Spark UI's stage page
// shows as Min / 25th / Median / 75th / Max, and the quickest way to see
// a tail ("p99 3x the median") without the whole task list.
func (u *UI) TaskSummary(ctx context.Context, app string, stage, attempt int, qs ...float64) (*TaskSummary, error) {
	if len(qs) == 0 {
		qs = []float64{0.01, 0.5, 0.99}
	}
	parts := make([]string, len(qs))
	for i, q := range qs {
		if q < 0 || q > 1 {
			return nil, fmt.Errorf("taskSummary: quantile %v is outside [0, 1]", q)
		}
		parts[i] = strconv.FormatFloat(q, 'f', -1, 64)
	}
	var s TaskSummary
	path := fmt.Sprintf("applications/%s/stages/%d/%d/taskSummary?quantiles=%s", url.PathEscape(app), stage, attempt, url.QueryEscape(strings.Join(parts, ",")))
	if err := u.get(ctx, path, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// At returns the value of a distribution at quantile q of the summary
// (as asked for), or false when q was not asked for.
func (s *TaskSummary) At(dist []float64, q float64) (float64, bool) {
	for i, x := range s.Quantiles {
		if x == q && i < len(dist) {
			return dist[i], true
		}
	}
	return 0, false
}

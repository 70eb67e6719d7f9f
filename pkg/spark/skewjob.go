package spark

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/shuffle"
)

// SkewJob is the chapter's skewed join, generated inside Spark (no data
// crosses from Go): a fact table of FactRows rows whose key is 0 for a
// HotPermille share of them and id % DimKeys otherwise, joined with a
// dimension table of DimKeys rows, then counted. The fact table is read by
// MapTasks tasks (range(..., numPartitions)), the dim by 2.
type SkewJob struct {
	FactRows    int64
	HotPermille int
	DimKeys     int
	MapTasks    int
	Partitions  int // spark.sql.shuffle.partitions
}

// DefaultSkewJob is the job measured in ../shared/notes/engines.md: 2M
// rows, key 0 = 30%, 100,000 dim keys, 50 shuffle partitions.
func DefaultSkewJob() SkewJob {
	return SkewJob{FactRows: 2_000_000, HotPermille: 300, DimKeys: 100_000, MapTasks: 8, Partitions: 50}
}

// Validate reports a job that cannot run.
func (j SkewJob) Validate() error {
	if j.FactRows <= 0 || j.DimKeys <= 0 || j.MapTasks <= 0 || j.Partitions <= 0 || j.HotPermille < 0 || j.HotPermille > 1000 {
		return fmt.Errorf("skew job: rows, dim keys, map tasks and partitions must be positive and the hot share in [0, 1000] permille (got %+v)", j)
	}
	return nil
}

// SkewMode is one way to run the job.
type SkewMode struct {
	Name string
	// Conf is set on the session before the query (spark.sql.* keys).
	Conf map[string]string
	// Salt > 1 rewrites the query: the fact key gets a salt id % Salt and
	// the dim rows are replicated once per salt.
	Salt int
	// Broadcast adds a BROADCAST hint on the dim side.
	Broadcast bool
}

// skewBase is what every mode sets: no automatic broadcast (the dim is
// small enough to be broadcast by default, which would hide the skew),
// the job's partitions, and thresholds scaled to a 2M-row job.
func (j SkewJob) skewBase() map[string]string {
	return map[string]string{
		"spark.sql.autoBroadcastJoinThreshold":                        "-1",
		"spark.sql.shuffle.partitions":                                strconv.Itoa(j.Partitions),
		"spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": "2MB",
		"spark.sql.adaptive.advisoryPartitionSizeInBytes":             "2MB",
		"spark.sql.adaptive.coalescePartitions.enabled":               "false",
	}
}

// SkewModes are the chapter's runs: AQE off, AQE on without and with the
// skew-join rule, salted by 8, and broadcast. Coalescing is off in all of
// them, so that the join stage's task count shows the splits.
func SkewModes() []SkewMode {
	return []SkewMode{
		{Name: "AQE off", Conf: map[string]string{"spark.sql.adaptive.enabled": "false"}},
		{Name: "AQE on, skew join off", Conf: map[string]string{"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.skewJoin.enabled": "false"}},
		{Name: "AQE on, skew join on", Conf: map[string]string{"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.skewJoin.enabled": "true"}},
		{Name: "salted x8, AQE off", Conf: map[string]string{"spark.sql.adaptive.enabled": "false"}, Salt: 8},
		{Name: "broadcast", Conf: map[string]string{"spark.sql.adaptive.enabled": "false"}, Broadcast: true},
	}
}

// Query is the job's SQL for a mode. Every number in it is an int the
// job holds, formatted with %d: nothing from outside is spliced in.
func (j SkewJob) Query(m SkewMode) string {
	factKey := fmt.Sprintf("CASE WHEN id %% 1000 < %d THEN 0 ELSE id %% %d END", j.HotPermille, j.DimKeys)
	fact := fmt.Sprintf("SELECT %s AS k, id AS v FROM range(0, %d, 1, %d)", factKey, j.FactRows, j.MapTasks)
	dim := fmt.Sprintf("SELECT id AS k, id * 2 AS w FROM range(0, %d, 1, 2)", j.DimKeys)
	on := "f.k = d.k"
	if m.Salt > 1 {
		fact = fmt.Sprintf("SELECT %s AS k, id %% %d AS s, id AS v FROM range(0, %d, 1, %d)", factKey, m.Salt, j.FactRows, j.MapTasks)
		dim = fmt.Sprintf("SELECT id AS k, s, id * 2 AS w FROM range(0, %d, 1, 2) LATERAL VIEW explode(sequence(0, %d)) t AS s", j.DimKeys, m.Salt-1)
		on = "f.k = d.k AND f.s = d.s"
	}
	hint := ""
	if m.Broadcast {
		hint = "/*+ BROADCAST(d) */ "
	}
	return fmt.Sprintf("SELECT %scount(*) AS n, sum(f.v + d.w) AS total FROM (%s) f JOIN (%s) d ON %s", hint, fact, dim, on)
}

// SkewRun is one run of the job on a real Spark.
type SkewRun struct {
	Mode string
	Wall time.Duration
	// Rows is the join's row count, Total a checksum of the joined values:
	// every mode must return the same two.
	Rows, Total int64
	// Stages are the run's stages, oldest first; Join is the join's stage
	// (the one that read the most shuffle records, or for a broadcast join
	// the fact's map stage), with its successful tasks.
	Stages    []Stage
	Join      Stage
	JoinTasks []TaskMetrics
	// JoinSummary is Spark's own taskSummary of the join stage at the
	// quantiles 0.5, 0.99 and 1.
	JoinSummary *TaskSummary
	// SkewedPartitions and SkewSplits are AQE's own counts, read from the
	// AQEShuffleRead operator's SQL metrics ("number of skewed partitions",
	// "number of skewed partition splits"); 0 when the rule did not run.
	SkewedPartitions, SkewSplits int
	// Plan is the executed physical plan.
	Plan string
}

// RunSkewJob runs j in mode m on s and reads its metrics from ui. progress,
// when not nil, is told what is happening (one line per step).
func (s *Session) RunSkewJob(ctx context.Context, ui *UI, j SkewJob, m SkewMode, progress func(string)) (*SkewRun, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	say := func(format string, a ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, a...))
		}
	}
	conf := j.skewBase()
	maps.Copy(conf, m.Conf)
	if err := s.Configure(ctx, conf); err != nil {
		return nil, fmt.Errorf("%s: configure: %w", m.Name, err)
	}
	app, err := ui.App(ctx)
	if err != nil {
		return nil, err
	}
	mark, err := ui.LastJob(ctx, app)
	if err != nil {
		return nil, err
	}
	say("%s: running the join of %d rows (%d‰ on key 0) with %d keys", m.Name, j.FactRows, j.HotPermille, j.DimKeys)
	start := time.Now()
	res, err := s.Query(ctx, j.Query(m))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name, err)
	}
	run := &SkewRun{Mode: m.Name, Wall: time.Since(start)}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return nil, fmt.Errorf("%s: the query returned %v, want one row (n, total)", m.Name, res.Rows)
	}
	run.Rows, _ = res.Rows[0][0].(int64)
	run.Total, _ = res.Rows[0][1].(int64)
	say("%s: %d joined rows in %v; reading task metrics", m.Name, run.Rows, run.Wall.Round(time.Millisecond))
	run.Stages, err = ui.SessionStages(ctx, app, s.Tag(), mark)
	if err != nil {
		return nil, err
	}
	for _, st := range run.Stages {
		if m.Broadcast {
			// no shuffle into the join: it runs in the fact's map tasks
			if st.NumTasks == j.MapTasks && st.ExecutorRunTime >= run.Join.ExecutorRunTime {
				run.Join = st
			}
		} else if st.ShuffleReadRecords > run.Join.ShuffleReadRecords {
			run.Join = st
		}
	}
	tasks, err := ui.TaskMetrics(ctx, app, run.Join.StageID, run.Join.AttemptID)
	if err != nil {
		return nil, err
	}
	run.JoinTasks = Succeeded(tasks)
	if run.JoinSummary, err = ui.TaskSummary(ctx, app, run.Join.StageID, run.Join.AttemptID, 0.5, 0.99, 1); err != nil {
		return nil, err
	}
	if err := s.readAQE(ctx, ui, app, run, mark); err != nil {
		return nil, err
	}
	return run, nil
}

// readAQE finds the run's SQL execution (the newest one whose jobs are
// after mark) and reads the skew metrics of its AQEShuffleRead nodes.
func (s *Session) readAQE(ctx context.Context, ui *UI, app string, run *SkewRun, mark int) error {
	execs, err := ui.SQL(ctx, app)
	if err != nil {
		return err
	}
	slices.SortFunc(execs, func(a, b Execution) int { return int(b.ID - a.ID) })
	for _, e := range execs {
		if len(e.SuccessJobIDs) == 0 || slices.Max(e.SuccessJobIDs) <= mark {
			continue
		}
		run.Plan = e.PlanDescription
		for _, n := range e.Nodes {
			for _, mt := range n.Metrics {
				v, _ := strconv.Atoi(strings.ReplaceAll(mt.Value, ",", ""))
				switch mt.Name {
				case "number of skewed partitions":
					run.SkewedPartitions += v
				case "number of skewed partition splits":
					run.SkewSplits += v
				}
			}
		}
		return nil
	}
	return nil
}

// PredictSplits applies the simulator's AQE rule (shuffle.AQE.SkewSplits)
// to the fact side's partition sizes measured in a run without AQE, where
// the join stage's task p read partition p of both sides: the dim's share
// (its map stage's bytes over the partitions) is taken off, and each
// partition's bytes are spread evenly over the fact's map tasks (the job's
// hot key is spread over all of them). It returns the predicted number of
// parts per partition, -1 for none.
func PredictSplits(off *SkewRun, j SkewJob, a shuffle.AQE) ([]int, error) {
	if len(off.JoinTasks) != j.Partitions {
		return nil, fmt.Errorf("predict: the run without AQE has %d join tasks, want one per partition (%d)", len(off.JoinTasks), j.Partitions)
	}
	var dimBytes int64
	for _, st := range off.Stages {
		if st.NumTasks == 2 && st.ShuffleWriteBytes > 0 {
			dimBytes = st.ShuffleWriteBytes // the dim's map stage: range(..., 2)
		}
	}
	blocks := make([][]int64, j.Partitions)
	for _, t := range off.JoinTasks {
		fact := max(t.ShuffleReadBytes-dimBytes/int64(j.Partitions), 0)
		row := make([]int64, j.MapTasks)
		for m := range row {
			row[m] = fact / int64(j.MapTasks)
		}
		blocks[t.Partition] = row
	}
	splits, err := a.SkewSplits(blocks)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(splits))
	for i, s := range splits {
		out[i] = s.Parts
	}
	return out, nil
}

package spark_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/shuffle"
	"github.com/dsgym/dsgym/pkg/spark"
)

// TestTheSkewedJoinOnRealSpark runs the chapter's join in every mode,
// checks that they agree on the result, that AQE splits the hot partition
// into the number of parts the simulator's rule predicts (within 1), and
// that the split shortens the join stage's slowest task.
func TestTheSkewedJoinOnRealSpark(t *testing.T) {
	s, ctx := connect(t)
	ui := spark.NewUI(enginetest.Need(t, engines.SparkUIEnv))
	j := spark.DefaultSkewJob()
	if _, err := s.Query(ctx, "SELECT count(*) FROM range(1000)"); err != nil { // the first query pays for warm-up
		t.Fatal(err)
	}
	runs := map[string]*spark.SkewRun{}
	for _, m := range spark.SkewModes() {
		r, err := s.RunSkewJob(ctx, ui, j, m, func(line string) { t.Log(line) })
		if err != nil {
			t.Fatal(err)
		}
		sum := spark.Summarize(r.JoinTasks)
		t.Logf("%-22s wall %v, join stage %d: %d tasks, run time median %v max %v, records median %d max %d; AQE skewed %d, splits %d",
			m.Name, r.Wall, r.Join.StageID, sum.Tasks, sum.MedianRunTime, sum.MaxRunTime, sum.MedianReadRecords, sum.MaxReadRecords, r.SkewedPartitions, r.SkewSplits)
		runs[m.Name] = r
	}
	off, on := runs["AQE off"], runs["AQE on, skew join on"]
	// Spark's taskSummary agrees with the task list it summarises.
	for name, r := range runs {
		if r.JoinSummary == nil {
			t.Fatalf("%s: no task summary", name)
		}
		top, ok := r.JoinSummary.At(r.JoinSummary.ShuffleReadMetrics.ReadRecords, 1)
		if sum := spark.Summarize(r.JoinTasks); !ok || int64(top) != sum.MaxReadRecords {
			t.Errorf("%s: taskSummary's largest read is %v (%v), the task list's %d", name, top, ok, sum.MaxReadRecords)
		}
	}
	// The diagnoser reads real Spark's tasks through the same type.
	if d, err := shuffle.Diagnose(off.JoinTasks); err != nil || d.Top().Cause != shuffle.DataSkew {
		t.Errorf("Diagnose on Spark's AQE-off join tasks: %+v, %v; want data skew first", d.Top(), err)
	}
	for name, r := range runs {
		if r.Rows != off.Rows || r.Total != off.Total {
			t.Errorf("%s returned (%d, %d), AQE off (%d, %d): the modes must agree", name, r.Rows, r.Total, off.Rows, off.Total)
		}
	}
	if want := j.FactRows; off.Rows != want {
		t.Errorf("the join returned %d rows, want %d (every fact row has its key in the dim)", off.Rows, want)
	}
	a := shuffle.DefaultAQE()
	a.SkewedPartitionThreshold, a.AdvisoryPartitionSize = 2*shuffle.MB, 2*shuffle.MB
	pred, err := spark.PredictSplits(off, j, a)
	if err != nil {
		t.Fatal(err)
	}
	predicted, skewed := 0, 0
	for _, p := range pred {
		if p > 1 {
			predicted += p
			skewed++
		}
	}
	t.Logf("simulator's rule: %d skewed partitions, %d parts; Spark: %d skewed, %d splits, %d join tasks", skewed, predicted, on.SkewedPartitions, on.SkewSplits, len(on.JoinTasks))
	if on.SkewedPartitions != skewed || on.SkewedPartitions == 0 {
		t.Errorf("Spark split %d partitions, the rule predicts %d", on.SkewedPartitions, skewed)
	}
	if d := on.SkewSplits - predicted; d < -skewed || d > skewed {
		t.Errorf("Spark made %d splits, the rule predicts %d: more than 1 apart per skewed partition", on.SkewSplits, predicted)
	}
	if runs["AQE on, skew join off"].SkewSplits != 0 || off.SkewSplits != 0 {
		t.Errorf("splits without the skew rule: %d and %d", runs["AQE on, skew join off"].SkewSplits, off.SkewSplits)
	}
	if so, sn := spark.Summarize(off.JoinTasks), spark.Summarize(on.JoinTasks); sn.MaxReadRecords*10 > so.MaxReadRecords*6 {
		t.Errorf("largest join task read %d records with the split, %d without: want under 60%%", sn.MaxReadRecords, so.MaxReadRecords)
	}
}

package spark_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/spark-connect-go/spark/sql/functions"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/spark"
	"github.com/stretchr/testify/require"
)

// zipfKeys draws n keys in [0, keys) from a Zipf law (s = 1.2): a few hot
// keys and a long tail, the shape of the skew chapters, from seed.
func zipfKeys(seed uint64, n, keys int) []int64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	z := rand.NewZipf(r, 1.2, 1, uint64(keys-1))
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(z.Uint64())
	}
	return out
}

// connect opens a Session on the real Spark Connect server, or skips.
func connect(t *testing.T) (*spark.Session, context.Context) {
	t.Helper()
	remote := enginetest.Need(t, engines.SparkRemoteEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := spark.Connect(ctx, remote)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, ctx
}

func TestRealSparkReportsThePinnedVersion(t *testing.T) {
	s, ctx := connect(t)
	v, err := s.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, "4.3.0", v, "the server is not the Spark that kernel-setup pins")
}

// TestGroupByCountMatchesGo sends Go-drawn keys to Spark, counts them per
// key there (a shuffle: partial counts on the map side, merged per reduce
// partition), and checks the rows against the same count in Go; then it
// reads the two stages' task metrics from the UI's REST API and checks
// that what the map tasks wrote is what the reduce tasks read.
func TestGroupByCountMatchesGo(t *testing.T) {
	s, ctx := connect(t)
	const partitions = 8
	// AQE off: the reduce stage keeps exactly spark.sql.shuffle.partitions
	// tasks (AQE would coalesce small partitions into fewer).
	require.NoError(t, s.Configure(ctx, map[string]string{
		"spark.sql.adaptive.enabled":   "false",
		"spark.sql.shuffle.partitions": "8",
	}))
	keys := zipfKeys(7, 20000, 200)
	want := map[int64]int64{}
	for _, k := range keys {
		want[k]++
	}

	ui := spark.NewUI(enginetest.Need(t, engines.SparkUIEnv))
	app, err := ui.App(ctx)
	require.NoError(t, err)
	mark, err := ui.LastJob(ctx, app)
	require.NoError(t, err)

	df, err := s.Int64Frame(ctx, "k", keys)
	require.NoError(t, err)
	counted, err := df.GroupBy(functions.Col("k")).Count(ctx)
	require.NoError(t, err)
	res, err := spark.Collect(ctx, counted)
	require.NoError(t, err)
	require.Equal(t, []string{"k", "count"}, res.Columns)
	got := map[int64]int64{}
	for _, row := range res.Rows {
		k, ok1 := row[0].(int64)
		n, ok2 := row[1].(int64)
		require.True(t, ok1 && ok2, "row %v is not (bigint, bigint)", row)
		_, dup := got[k]
		require.False(t, dup, "key %d came back twice", k)
		got[k] = n
	}
	require.Equal(t, want, got, "Spark's groupBy/count differs from Go's")

	stages, err := ui.SessionStages(ctx, app, s.Tag(), mark)
	require.NoError(t, err)
	require.Len(t, stages, 2, "a groupBy/count is one map stage and one reduce stage")
	mapTasks, err := ui.TaskMetrics(ctx, app, stages[0].StageID, stages[0].AttemptID)
	require.NoError(t, err)
	redTasks, err := ui.TaskMetrics(ctx, app, stages[1].StageID, stages[1].AttemptID)
	require.NoError(t, err)
	m, r := spark.Summarize(spark.Succeeded(mapTasks)), spark.Summarize(spark.Succeeded(redTasks))
	t.Logf("map stage %d: %d tasks, %d input rows, wrote %d records (%d B); reduce stage %d: %d tasks, read %d records, largest task %d, median %d",
		stages[0].StageID, m.Tasks, len(keys), m.ShuffleWriteRecords, m.ShuffleWriteBytes,
		stages[1].StageID, r.Tasks, r.ShuffleReadRecords, r.MaxReadRecords, r.MedianReadRecords)

	require.Equal(t, partitions, r.Tasks, "one reduce task per shuffle partition")
	for i, task := range spark.Succeeded(redTasks) {
		require.Equal(t, i, task.Partition, "reduce tasks cover partitions 0..7 once each")
	}
	require.Positive(t, m.ShuffleWriteRecords)
	require.Equal(t, m.ShuffleWriteRecords, r.ShuffleReadRecords, "the reduce side read what the map side wrote")
	require.Equal(t, m.ShuffleWriteBytes, r.ShuffleReadBytes)
	// Partial aggregation: each map task writes one record per distinct key
	// it saw, so the shuffle carries between len(want) and
	// len(want) x map tasks records, far fewer than the input rows.
	require.GreaterOrEqual(t, r.ShuffleReadRecords, int64(len(want)))
	require.LessOrEqual(t, r.ShuffleReadRecords, int64(len(want)*m.Tasks))
	require.Less(t, r.ShuffleReadRecords, int64(len(keys)))
}

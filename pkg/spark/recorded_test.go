package spark

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordedUI serves the REST answers that Spark 4.3.0's UI gave for one
// groupBy/count (recorded with curl into testdata/api, the query string
// dropped): the decoding and the stage bookkeeping are tested offline
// against what the real server sends.
func recordedUI(t *testing.T) *UI {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rel := strings.TrimPrefix(r.URL.Path, "/api/v1/")
		b, err := os.ReadFile(filepath.Join("testdata", "api", filepath.FromSlash(rel)+".json"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return NewUI(srv.URL)
}

func TestRecordedGroupByStagesAreFoundByTheSessionTag(t *testing.T) {
	ui := recordedUI(t)
	ctx := context.Background()
	app, err := ui.App(ctx)
	require.NoError(t, err)
	require.Equal(t, "local-1796532494963", app)

	// Job 0 belongs to another session (its version query): the tag keeps
	// it out.
	stages, err := ui.SessionStages(ctx, app, "dsgym-599203a25444", -1)
	require.NoError(t, err)
	require.Len(t, stages, 2)
	require.Equal(t, []int{1, 2}, []int{stages[0].StageID, stages[1].StageID})
	other, err := ui.SessionJobs(ctx, app, "dsgym-040dba29a818", -1)
	require.NoError(t, err)
	require.Len(t, other, 1)
	require.Equal(t, 0, other[0].JobID)
}

func TestRecordedReduceTasksReadWhatTheMapTasksWrote(t *testing.T) {
	ui := recordedUI(t)
	ctx := context.Background()
	app := "local-1796532494963"
	mapTasks, err := ui.TaskMetrics(ctx, app, 1, 0)
	require.NoError(t, err)
	redTasks, err := ui.TaskMetrics(ctx, app, 2, 0)
	require.NoError(t, err)
	m, r := Summarize(Succeeded(mapTasks)), Summarize(Succeeded(redTasks))
	require.Equal(t, 2, m.Tasks)
	require.Equal(t, 8, r.Tasks)
	require.Equal(t, int64(400), m.ShuffleWriteRecords)
	require.Equal(t, m.ShuffleWriteRecords, r.ShuffleReadRecords)
	require.Equal(t, m.ShuffleWriteBytes, r.ShuffleReadBytes)
	// Per reduce partition, as recorded: 38 62 42 52 50 38 60 58.
	require.Equal(t, int64(62), r.MaxReadRecords)
	require.Equal(t, int64(52), r.MedianReadRecords)
	for i, task := range redTasks {
		require.Equal(t, i, task.Partition)
		require.Positive(t, task.Duration, "a finished task has a wall time")
	}
}

func TestUINotAnsweringNamesTheVariableAndTarget(t *testing.T) {
	ui := NewUI("http://" + closedPort(t))
	_, err := ui.App(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "the Spark UI is not answering at")
	require.Contains(t, err.Error(), "("+UIEnv+")")
	require.Contains(t, err.Error(), "make spark")
}

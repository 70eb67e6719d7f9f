// Package spark talks to a real Apache Spark (4.3.0 here) through Spark
// Connect, and reads what the engine measured from the Spark UI's
// monitoring REST API.
//
// Two halves, used together by the shuffle chapters:
//
//   - A Session (Connect) runs SQL and DataFrame plans on the Spark Connect
//     server named by DSGYM_SPARK_REMOTE (make spark starts one on
//     sc://127.0.0.1:15002) and collects the rows as plain Go values.
//   - A UI client (NewUI) reads /api/v1 of the same server's UI, named by
//     DSGYM_SPARK_UI (http://127.0.0.1:4040 by default): applications,
//     jobs, stages and per-task metrics (run time, shuffle records and
//     bytes read and written, spill), which is where skew and stragglers
//     become visible.
//
// A Session tags every job it runs (its Spark Connect user id is unique to
// it), so SessionStages finds the stages of one query even when other
// sessions share the server:
//
//	s, err := spark.Connect(ctx, os.Getenv(spark.RemoteEnv))
//	ui := spark.NewUI(spark.UIURL())
//	app, _ := ui.App(ctx)
//	mark, _ := ui.LastJob(ctx, app)
//	res, _ := s.Query(ctx, "SELECT k, count(*) FROM t GROUP BY k")
//	stages, _ := ui.SessionStages(ctx, app, s.Tag(), mark)
//	tasks, _ := ui.TaskMetrics(ctx, app, stages[0].StageID, stages[0].AttemptID)
//
// Nothing here starts a server: a remote that does not answer fails within
// ReachTimeout with one sentence that names the variable and make spark.
package spark

import (
	"os"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
)

// The variables that point a chapter at a real Spark, and their defaults.
const (
	// RemoteEnv names the Spark Connect server, like sc://127.0.0.1:15002.
	RemoteEnv = engines.SparkRemoteEnv
	// UIEnv names the Spark UI whose /api/v1 serves the task metrics.
	UIEnv = engines.SparkUIEnv
	// DefaultRemote is where make spark starts Spark Connect.
	DefaultRemote = "sc://127.0.0.1:15002"
	// DefaultUI is where make spark serves the Spark UI.
	DefaultUI = "http://127.0.0.1:4040"
)

// ReachTimeout bounds how long Connect (the TCP dial and a first request
// together) and each UI request may wait before giving up.
const ReachTimeout = 5 * time.Second

// UIURL returns the Spark UI address from UIEnv, or DefaultUI when unset.
func UIURL() string {
	if v := strings.TrimSpace(os.Getenv(UIEnv)); v != "" {
		return v
	}
	return DefaultUI
}

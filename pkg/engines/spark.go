package engines

import (
	"context"
	"os"
	"strings"
)

// SparkEngine is where a Spark chapter runs: the stage simulator in this
// process (Real false), or a Spark Connect server.
type SparkEngine struct {
	Name   string // "stage simulator, in process" or "Spark Connect at sc://..."
	Remote string // sc://host:port, empty when not Real
	UI     string // the Spark UI whose /api/v1 serves task metrics
	Real   bool
}

// Spark returns the Spark Connect server named by DSGYM_SPARK_REMOTE,
// checked to accept connections within ReachTimeout, or the simulator.
func Spark(ctx context.Context) (*SparkEngine, error) {
	remote := strings.TrimSpace(os.Getenv(SparkRemoteEnv))
	if remote == "" {
		return &SparkEngine{Name: "stage simulator, in process"}, nil
	}
	hostport := strings.TrimPrefix(remote, "sc://")
	if i := strings.IndexAny(hostport, "/;"); i >= 0 {
		hostport = hostport[:i]
	}
	if addr, err := dialAll(ctx, []string{hostport}); err != nil {
		return nil, &NotReachableError{Engine: "Spark Connect", Addr: addr, Var: SparkRemoteEnv, Target: "spark", Err: err}
	}
	ui := os.Getenv(SparkUIEnv)
	if ui == "" {
		ui = "http://127.0.0.1:4040"
	}
	return &SparkEngine{Name: "Spark Connect at " + remote, Remote: remote, UI: ui, Real: true}, nil
}

// String returns Name.
func (s *SparkEngine) String() string { return s.Name }

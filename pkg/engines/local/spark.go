package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dsgym/dsgym/pkg/engines/proc"
)

// Spark is a Spark Connect server in local mode: one JVM running the driver
// and two executor threads (local[2]), with its driver memory capped.
type Spark struct {
	cfg Config
	// DriverMemory is spark.driver.memory (the JVM heap); default 1g.
	DriverMemory string
}

// NewSpark returns the Spark Connect engine.
func NewSpark(cfg Config) *Spark { return &Spark{cfg: cfg, DriverMemory: "1g"} }

// Name is the engine's name in make targets and messages.
func (s *Spark) Name() string { return "spark" }

// Dir is the engine's run directory.
func (s *Spark) Dir() string { return filepath.Join(s.cfg.RunDir, "spark") }

// Remote is the address for DSGYM_SPARK_REMOTE.
func (s *Spark) Remote() string { return fmt.Sprintf("sc://127.0.0.1:%d", s.cfg.SparkPort) }

// UI is the Spark UI, whose /api/v1 serves task metrics (DSGYM_SPARK_UI).
func (s *Spark) UI() string { return fmt.Sprintf("http://127.0.0.1:%d", s.cfg.SparkUIPort) }

// log4j2 keeps the server's log to warnings: at INFO, Spark writes several
// lines per task.
const sparkLog4j2 = `rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.connect.name = org.apache.spark.sql.connect
logger.connect.level = info
`

func (s *Spark) spec(in Installed) (proc.Spec, error) {
	java, err := in.need("JAVA", "spark")
	if err != nil {
		return proc.Spec{}, err
	}
	home, err := in.need("SPARK_HOME", "spark")
	if err != nil {
		return proc.Spec{}, err
	}
	dir := s.Dir()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return proc.Spec{}, err
	}
	if err := os.WriteFile(filepath.Join(conf, "log4j2.properties"), []byte(sparkLog4j2), 0o644); err != nil {
		return proc.Spec{}, err
	}
	grpc := fmt.Sprintf("127.0.0.1:%d", s.cfg.SparkPort)
	ui := fmt.Sprintf("127.0.0.1:%d", s.cfg.SparkUIPort)
	c := func(kv string) []string { return []string{"--conf", kv} }
	argv := []string{filepath.Join(home, "bin", "spark-submit"),
		"--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
		"--name", "dsgym Spark Connect",
		"--master", "local[2]",
		"--driver-memory", s.DriverMemory}
	for _, kv := range []string{
		"spark.connect.grpc.binding.address=127.0.0.1",
		fmt.Sprintf("spark.connect.grpc.binding.port=%d", s.cfg.SparkPort),
		"spark.driver.host=127.0.0.1",
		"spark.driver.bindAddress=127.0.0.1",
		"spark.ui.enabled=true",
		fmt.Sprintf("spark.ui.port=%d", s.cfg.SparkUIPort),
		"spark.port.maxRetries=0", // a taken UI port is an error, not a silent 4041
		"spark.ui.retainedTasks=200000",
		"spark.sql.ui.retainedExecutions=200",
		"spark.local.dir=" + filepath.Join(dir, "tmp"),
	} {
		argv = append(argv, c(kv)...)
	}
	return proc.Spec{
		Name: "Spark Connect (" + s.Remote() + ")",
		Dir:  dir,
		Argv: argv,
		Env: []string{
			"JAVA_HOME=" + filepath.Dir(filepath.Dir(java)),
			"SPARK_HOME=" + home,
			"SPARK_CONF_DIR=" + conf,
			"SPARK_LOCAL_IP=127.0.0.1", // the UI binds here instead of 0.0.0.0
			"PYSPARK_PYTHON=/nonexistent", "SPARK_NO_DAEMONIZE=1",
		},
		Ports: []proc.Port{{Addr: grpc, Var: SparkPortEnv}, {Addr: ui, Var: SparkUIPortEnv}},
		Ready: func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", grpc)
			if err != nil {
				return err
			}
			c.Close()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.UI()+"/api/v1/applications", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("Spark UI answered %s", resp.Status)
			}
			return nil
		},
		ReadyTimeout: 90 * time.Second,
	}, nil
}

// Start starts the server unless it runs, and waits until its gRPC port
// and its UI answer.
func (s *Spark) Start(ctx context.Context) (time.Duration, error) {
	in, err := s.cfg.LoadInstalled()
	if err != nil {
		return 0, err
	}
	spec, err := s.spec(in)
	if err != nil {
		return 0, err
	}
	st, err := proc.Start(ctx, spec)
	return st.Elapsed, err
}

// Stop stops the server.
func (s *Spark) Stop() error { return proc.Stop(s.Dir(), 15*time.Second) }

// PIDs returns the server's process id when it runs.
func (s *Spark) PIDs() []int {
	if pid, ok := proc.Running(s.Dir()); ok {
		return []int{pid}
	}
	return nil
}

// Package local runs the real engines on this machine: a Kafka broker or a
// three-broker Kafka cluster (KRaft, from the jars kernel-setup installed),
// a Spark Connect server (from the pinned pyspark), and a PostgreSQL server
// with logical replication. The make targets (make kafka, make spark, ...)
// and make test call it through the dsgym command; chapters call its fault
// functions (kill a broker, pause it, kill the partition leader).
//
// Everything binds 127.0.0.1. Each process has a run directory under
// .dsgym/run/ holding its pid, its log and its data, and keeps the data
// across restarts until Clean. Processes are supervised by package proc.
package local

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dsgym/dsgym/pkg/nb"
)

// Variables that move the engines' directories and ports. make test sets
// them so that its engines never touch the learner's.
const (
	RunDirEnv       = "DSGYM_RUN_DIR"       // default .dsgym/run
	KafkaPortEnv    = "DSGYM_KAFKA_PORT"    // first broker port, default 9092; controllers at +100
	SparkPortEnv    = "DSGYM_SPARK_PORT"    // Spark Connect gRPC, default 15002
	SparkUIPortEnv  = "DSGYM_SPARK_UI_PORT" // Spark UI and its REST API, default 4040
	PostgresPortEnv = "DSGYM_POSTGRES_PORT" // default 15432 (5432 is left to a system server)
)

// Config says where the engines live and listen.
type Config struct {
	Home         string // .dsgym: the installed engines and engines.env
	RunDir       string // one directory per process
	KafkaPort    int
	SparkPort    int
	SparkUIPort  int
	PostgresPort int
}

// FromEnv returns the configuration for the repository this program runs
// in, with the variables above applied.
func FromEnv() (Config, error) {
	root, err := nb.Root()
	if err != nil {
		return Config{}, err
	}
	c := Config{
		Home:         filepath.Join(root, ".dsgym"),
		KafkaPort:    9092,
		SparkPort:    15002,
		SparkUIPort:  4040,
		PostgresPort: 15432,
	}
	if h := os.Getenv("DSGYM_HOME"); h != "" {
		c.Home = h
	}
	c.RunDir = filepath.Join(c.Home, "run")
	if d := os.Getenv(RunDirEnv); d != "" {
		if c.RunDir, err = filepath.Abs(d); err != nil {
			return Config{}, err
		}
	}
	for _, p := range []struct {
		env string
		dst *int
	}{{KafkaPortEnv, &c.KafkaPort}, {SparkPortEnv, &c.SparkPort}, {SparkUIPortEnv, &c.SparkUIPort}, {PostgresPortEnv, &c.PostgresPort}} {
		v := os.Getenv(p.env)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 || n > 65000 {
			return Config{}, fmt.Errorf("%s=%q is not a port number between 1024 and 65000", p.env, v)
		}
		*p.dst = n
	}
	return c, nil
}

// Installed is what kernel-setup/engines/install.sh recorded in
// .dsgym/engines.env.
type Installed map[string]string

// LoadInstalled reads .dsgym/engines.env.
func (c Config) LoadInstalled() (Installed, error) {
	f, err := os.Open(filepath.Join(c.Home, "engines.env"))
	if err != nil {
		if os.IsNotExist(err) {
			return Installed{}, nil
		}
		return nil, err
	}
	defer f.Close()
	in := Installed{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			in[k] = strings.Trim(v, `"'`)
		}
	}
	return in, sc.Err()
}

// need returns the value of key, or an error saying which part to install.
func (in Installed) need(key, part string) (string, error) {
	if v := in[key]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s is not installed: run kernel-setup/engines/install.sh %s (make %s does it for you)", part, part, part)
}

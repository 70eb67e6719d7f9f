package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dsgym/dsgym/pkg/engines/proc"
)

// Engine is one engine that make starts and stops.
type Engine interface {
	Name() string
	// Start starts what is not running and returns how long it took to be
	// ready (0 when it already was).
	Start(ctx context.Context) (time.Duration, error)
	Stop() error
	// PIDs lists the running processes.
	PIDs() []int
	// Dir is the run directory, removed by Clean.
	Dir() string
}

// Budgets for being ready after a start, from the real-engines issue.
var readyBudget = map[string]time.Duration{
	"kafka":         10 * time.Second,
	"kafka-cluster": 30 * time.Second,
	"spark":         30 * time.Second,
	"postgres":      10 * time.Second,
}

// ReadyBudget is how long a start of the named engine may take.
func ReadyBudget(name string) time.Duration { return readyBudget[name] }

// MemoryBudget is what all engines together may hold resident.
const MemoryBudget = 4 << 30

// Engines returns every engine, in the order make engines-status lists them.
func Engines(cfg Config) []Engine {
	return []Engine{NewKafka(cfg, 1), NewKafka(cfg, 3), NewSpark(cfg), NewPostgres(cfg)}
}

// Lookup returns the engine called name.
func Lookup(cfg Config, name string) (Engine, error) {
	for _, e := range Engines(cfg) {
		if e.Name() == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("no engine called %q: choose kafka, kafka-cluster, spark or postgres", name)
}

// Exports returns the shell lines that point notebooks and tests at e.
func Exports(e Engine) []string {
	switch e := e.(type) {
	case *Kafka:
		return []string{"export DSGYM_KAFKA_BROKERS=" + e.Brokers()}
	case *Spark:
		return []string{"export DSGYM_SPARK_REMOTE=" + e.Remote(), "export DSGYM_SPARK_UI=" + e.UI()}
	case *Postgres:
		return []string{"export DSGYM_POSTGRES_URL='" + e.URL() + "'"}
	}
	return nil
}

// Address says where e listens, for messages.
func Address(e Engine) string {
	switch e := e.(type) {
	case *Kafka:
		return e.Brokers()
	case *Spark:
		return e.Remote() + " (UI " + e.UI() + ")"
	case *Postgres:
		return e.URL()
	}
	return ""
}

// RSS sums the resident memory of e's processes.
func RSS(e Engine) int64 {
	var total int64
	for _, pid := range e.PIDs() {
		if n, err := proc.RSS(pid); err == nil {
			total += n
		}
	}
	return total
}

// Clean stops e and deletes its run directory: its data, logs and pid
// files. The next start begins empty.
func Clean(e Engine) error {
	if err := e.Stop(); err != nil {
		return err
	}
	dir := e.Dir()
	if filepath.Base(filepath.Dir(dir)) == "" || dir == "/" {
		return fmt.Errorf("refusing to delete %q", dir)
	}
	return os.RemoveAll(dir)
}

// Package engines decides which engine a chapter runs on, so that no
// chapter reads environment variables itself.
//
// Every engine has an embedded default that is fast, offline and
// deterministic, and a real one chosen by one variable:
//
//	engine      embedded default            real, when set
//	Kafka       kfake, in process           DSGYM_KAFKA_BROKERS=127.0.0.1:9092
//	Spark       the stage simulator         DSGYM_SPARK_REMOTE=sc://127.0.0.1:15002
//	PostgreSQL  SQLite, in process          DSGYM_POSTGRES_URL=postgres://...
//
// The make targets (make kafka, make kafka-cluster, make spark, make
// postgres) start the real ones and print the line to export. A variable
// that is set but points at nothing fails within five seconds with one
// sentence naming the engine, the variable and the make target: a cell
// never hangs on an engine that is not there.
package engines

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// The variables that switch a chapter to a real engine.
const (
	KafkaBrokersEnv = "DSGYM_KAFKA_BROKERS"
	SparkRemoteEnv  = "DSGYM_SPARK_REMOTE"
	SparkUIEnv      = "DSGYM_SPARK_UI"
	PostgresURLEnv  = "DSGYM_POSTGRES_URL"
)

// ReachTimeout bounds how long a real engine may take to answer before a
// chapter gives up on it.
const ReachTimeout = 5 * time.Second

// NotReachableError says a configured engine does not answer.
type NotReachableError struct {
	Engine string // "Kafka"
	Addr   string // what was dialled
	Var    string // the variable that named it
	Target string // the make target that starts it
	Err    error
}

func (e *NotReachableError) Error() string {
	return fmt.Sprintf("%s is not answering at %s (%s): start it with make %s, or unset %s to use the embedded engine (%v)",
		e.Engine, e.Addr, e.Var, e.Target, e.Var, e.Err)
}

func (e *NotReachableError) Unwrap() error { return e.Err }

// dialAll checks that every address accepts a TCP connection, all within
// ReachTimeout.
func dialAll(ctx context.Context, addrs []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	var d net.Dialer
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", a)
		if err != nil {
			return a, err
		}
		c.Close()
	}
	return "", nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

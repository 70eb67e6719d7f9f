package eos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/require"
)

// childEnv carries a first instance's job to a child process.
const childEnv = "DSGYM_EOS_CHILD"

// childJob is what a child process runs: one pipeline instance that kills
// itself with SIGKILL at its crash point.
type childJob struct {
	Brokers              []string
	Mode                 Mode
	Input, Output, Group string
	Batch                int
	CrashPoint           Point
	CrashBatch           int
}

// TestMain runs a child's job when the test binary is started as one.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

func runChild(spec string) int {
	var job childJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		fmt.Fprintln(os.Stderr, "bad job:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := engines.Kafka(ctx, engines.Brokers(job.Brokers...))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p := &Pipeline{Kafka: k, Mode: job.Mode, Input: job.Input, Output: job.Output, Group: job.Group, Batch: job.Batch, Events: os.Stdout}
	kill := func() {
		os.Stdout.Sync()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	if _, err := p.Run(ctx, 1, Crash{Point: job.CrashPoint, Batch: job.CrashBatch, Kill: kill}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 3 // never reached its crash point
}

// killedChild runs the first instance of a schedule as a child process and
// requires that it died of SIGKILL at its crash point. The transactions it
// began and never committed are its aborted writers.
func killedChild(t *testing.T) func(ctx context.Context, p *Pipeline, crash Crash) (Instance, error) {
	return func(ctx context.Context, p *Pipeline, crash Crash) (Instance, error) {
		spec, err := json.Marshal(childJob{Brokers: p.Kafka.Brokers, Mode: p.Mode, Input: p.Input, Output: p.Output, Group: p.Group, Batch: p.batch(), CrashPoint: crash.Point, CrashBatch: crash.Batch})
		if err != nil {
			return Instance{}, err
		}
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err = cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return Instance{}, fmt.Errorf("the child was not killed: %v (stderr: %s)", err, stderr.String())
		}
		ws, ok := exit.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			return Instance{}, fmt.Errorf("the child ended with %v, not SIGKILL (stderr: %s)", err, stderr.String())
		}
		inst := Instance{ID: 1, Crashed: true}
		open := map[string]bool{}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			verb, writer, _ := strings.Cut(sc.Text(), " ")
			switch verb {
			case "begin":
				open[writer] = true
			case "commit":
				delete(open, writer)
			}
		}
		for w := range open {
			inst.Aborted = append(inst.Aborted, w)
		}
		return inst, nil
	}
}

// TestKilledInstancesGiveTheSameVerdicts runs the first instance of 10
// schedules as a child process on the real broker and kills it with
// SIGKILL at its crash point, then lets an in-process instance finish:
// the verdicts must be the crash matrix's (at-most-once loses, at-least-
// once duplicates, transactions lose and duplicate nothing under
// read_committed while read_uncommitted sees the aborted records).
// The child reaches kfake over its loopback listener as it would a broker.
func TestKilledInstancesGiveTheSameVerdicts(t *testing.T) {
	t.Run("kfake", func(t *testing.T) { killRuns(t, embedded(t)) })
	t.Run("real broker", func(t *testing.T) {
		enginetest.Need(t, engines.KafkaBrokersEnv)
		k, err := engines.Kafka(context.Background())
		require.NoError(t, err)
		killRuns(t, k)
	})
}

func killRuns(t *testing.T, k *engines.KafkaEngine) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cases := []struct {
		mode        Mode
		point       Point
		lost, dup   bool
		abortedSeen bool // read_uncommitted sees aborted records
	}{
		{AtMostOnce, AfterConsume, true, false, false},
		{AtLeastOnce, BeforeCommit, false, true, false},
		{IdempotentProducer, MidOutput, false, true, false},
		{Transactional, MidOutput, false, false, true},
		{Transactional, BeforeCommit, false, false, true},
	}
	runs := 0
	for _, c := range cases {
		for _, seed := range []uint64{1, 2} {
			s := Schedule{Mode: c.mode, Point: c.point, Seed: seed, Records: 400, First: killedChild(t)}
			v, err := RunSchedule(ctx, k, s)
			require.NoError(t, err)
			runs++
			t.Logf("kill -9 %-20v %-14v seed %d batch %d: rc %v | ru aborted %d (%v)", c.mode, c.point, seed, v.Crash.Batch, v.Committed, v.Uncommitted.AbortedReads, v.Elapsed.Round(time.Millisecond))
			require.True(t, v.Crashed)
			require.Equal(t, c.lost, v.Committed.Lost > 0, "lost")
			require.Equal(t, c.dup, v.Committed.Duplicated > 0, "duplicated")
			require.Zero(t, v.Committed.AbortedReads, "read_committed never sees an aborted record")
			require.Equal(t, c.abortedSeen, v.Uncommitted.AbortedReads > 0, "read_uncommitted sees the killed transaction")
		}
	}
	t.Logf("%d real kill -9 runs on %s", runs, k.Name)
}

// Package proc supervises the long-running processes behind the real
// engines (a Kafka broker, a Spark Connect server, PostgreSQL): start one
// detached from the terminal, find it again later from its pid file, wait
// until it is ready, stop it, and do to it what a fault experiment needs
// (kill -9, pause, resume).
//
// Each process owns a run directory. The directory holds three files:
//
//	pid   the process id, written once the process started
//	log   its stdout and stderr, appended to on every start
//	cmd   the command line, one argument per line
//
// Start is idempotent: a process that is alive and still runs the same
// command line is left alone. A pid file whose process is gone, or whose pid
// now belongs to another program, is stale: it is removed and the process
// started again. Ports are checked before anything runs, so that a taken
// port is reported with the variable that moves it, not as a Java stack
// trace in a log.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Port is a TCP address a process will listen on, and the environment
// variable a user sets to move it.
type Port struct {
	Addr string // host:port, always on 127.0.0.1
	Var  string // e.g. DSGYM_KAFKA_PORT
}

// Spec describes one supervised process.
type Spec struct {
	Name  string   // shown in messages, e.g. "kafka broker 1"
	Dir   string   // run directory (pid, log, cmd)
	Argv  []string // program and arguments
	Env   []string // extra KEY=VALUE pairs on top of the current environment
	Ports []Port   // checked free before starting

	// Credential, when set, runs the process as another user (PostgreSQL
	// refuses to run as root).
	Credential *syscall.Credential

	// Ready reports nil once the process serves requests. Start polls it
	// until ReadyTimeout (default 60 s).
	Ready        func(ctx context.Context) error
	ReadyTimeout time.Duration
}

// Started is what Start did.
type Started struct {
	PID     int
	Already bool          // it was running before this call
	Elapsed time.Duration // from launch to ready (0 when Already)
}

// children remembers the processes this program started, so that their
// exit is reaped (a zombie still answers kill(pid, 0)) and seen at once.
var children sync.Map // pid -> chan struct{} closed on exit

// Start launches spec unless it already runs, and waits until it is ready.
// On failure it stops what it launched and returns an error that ends with
// the last lines of the log.
func Start(ctx context.Context, spec Spec) (Started, error) {
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return Started{}, fmt.Errorf("%s: %w", spec.Name, err)
	}
	if pid, ok := Running(spec.Dir); ok {
		if sameCommand(spec.Dir, spec.Argv) {
			return Started{PID: pid, Already: true}, waitReady(ctx, spec, pid, time.Now())
		}
		return Started{}, fmt.Errorf("%s is already running (pid %d) with another configuration: stop it first (make engines-stop)", spec.Name, pid)
	}
	for _, p := range spec.Ports {
		if err := checkFree(p); err != nil {
			return Started{}, fmt.Errorf("%s cannot start: %w", spec.Name, err)
		}
	}
	logPath := filepath.Join(spec.Dir, "log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Started{}, fmt.Errorf("%s: %w", spec.Name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n==== %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(spec.Argv, " "))
	if spec.Credential != nil {
		_ = os.Chown(logPath, int(spec.Credential.Uid), int(spec.Credential.Gid))
	}

	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = spec.Dir
	// Its own session: Ctrl-C in the terminal or the notebook kernel's
	// interrupt does not reach it, and it outlives the command that
	// started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: spec.Credential}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return Started{}, fmt.Errorf("%s did not start: %w", spec.Name, err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	children.Store(pid, done)
	go func() { _ = cmd.Wait(); close(done) }()
	if err := writeState(spec.Dir, pid, spec.Argv); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return Started{}, fmt.Errorf("%s: %w", spec.Name, err)
	}
	if err := waitReady(ctx, spec, pid, t0); err != nil {
		_ = Stop(spec.Dir, 5*time.Second)
		return Started{}, err
	}
	return Started{PID: pid, Elapsed: time.Since(t0)}, nil
}

// waitReady polls spec.Ready until it succeeds, the process dies, or the
// timeout passes.
func waitReady(ctx context.Context, spec Spec, pid int, t0 time.Time) error {
	if spec.Ready == nil {
		return nil
	}
	timeout := spec.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !alive(pid) {
			return fmt.Errorf("%s exited while starting%s", spec.Name, logTail(spec.Dir, 15))
		}
		attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		last = spec.Ready(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready after %s (%v)%s", spec.Name, time.Since(t0).Round(time.Second/10), last, logTail(spec.Dir, 15))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Running returns the pid recorded in dir when that process is alive and
// still the one that was started; a stale pid file is removed.
func Running(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !alive(pid) || !sameProgram(dir, pid) {
		_ = os.Remove(filepath.Join(dir, "pid"))
		return 0, false
	}
	return pid, true
}

// Stop sends SIGTERM, waits up to grace, then SIGKILL. Stopping a process
// that does not run is not an error.
func Stop(dir string, grace time.Duration) error { return StopSignal(dir, syscall.SIGTERM, grace) }

// StopSignal is Stop with another polite signal (PostgreSQL's fast shutdown
// is SIGINT; its SIGTERM waits for every client to leave).
func StopSignal(dir string, sig syscall.Signal, grace time.Duration) error {
	pid, ok := Running(dir)
	if !ok {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGCONT) // a paused process cannot exit
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if waitExit(pid, grace) {
		_ = os.Remove(filepath.Join(dir, "pid"))
		return nil
	}
	return Kill9(dir)
}

// Kill9 kills the process with SIGKILL, as a crash would: no shutdown hook
// runs and nothing is flushed that the process had not already written.
func Kill9(dir string) error {
	pid, ok := Running(dir)
	if !ok {
		return fmt.Errorf("nothing runs in %s", dir)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if !waitExit(pid, 10*time.Second) {
		return fmt.Errorf("pid %d survived SIGKILL for 10 s", pid)
	}
	_ = os.Remove(filepath.Join(dir, "pid"))
	return nil
}

// Pause stops the process with SIGSTOP: it keeps its sockets and its
// memory, and answers nothing, like a process stuck in a long GC pause.
// This is how a zombie producer is made.
func Pause(dir string) error { return signal(dir, syscall.SIGSTOP) }

// Resume continues a paused process (SIGCONT).
func Resume(dir string) error { return signal(dir, syscall.SIGCONT) }

func signal(dir string, sig syscall.Signal) error {
	pid, ok := Running(dir)
	if !ok {
		return fmt.Errorf("nothing runs in %s", dir)
	}
	return syscall.Kill(pid, sig)
}

// RSS returns the resident memory of the process in bytes (Linux only).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// LogTail returns the last n lines of the process's log, for messages.
func LogTail(dir string, n int) string {
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func logTail(dir string, n int) string {
	t := LogTail(dir, n)
	if t == "" {
		return ""
	}
	return fmt.Sprintf("; last lines of %s:\n%s", filepath.Join(dir, "log"), t)
}

func alive(pid int) bool {
	if v, ok := children.Load(pid); ok {
		select {
		case <-v.(chan struct{}):
			return false
		default:
			return true
		}
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A zombie answers kill(pid, 0) but is dead.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // not Linux: trust kill(pid, 0)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func waitExit(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !alive(pid)
}

// sameProgram reports whether pid still runs the program recorded in dir
// (a pid is reused once its process is gone).
func sameProgram(dir string, pid int) bool {
	want, err := os.ReadFile(filepath.Join(dir, "cmd"))
	if err != nil {
		return false
	}
	got, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // not Linux: trust the pid file
	}
	wantArgs := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
	// Scripts (spark-submit) exec into java: compare the last argument,
	// which is the configuration file or data directory, not argv[0].
	last := wantArgs[len(wantArgs)-1]
	return strings.Contains(string(got), last)
}

func sameCommand(dir string, argv []string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cmd"))
	return err == nil && string(b) == strings.Join(argv, "\n")+"\n"
}

func writeState(dir string, pid int, argv []string) error {
	if err := os.WriteFile(filepath.Join(dir, "cmd"), []byte(strings.Join(argv, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// checkFree fails when something already listens on p.Addr.
func checkFree(p Port) error {
	c, err := net.DialTimeout("tcp", p.Addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
		return fmt.Errorf("port %s is taken by another program: stop it, or set %s to another port", p.Addr, p.Var)
	}
	l, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return fmt.Errorf("port %s cannot be used (%v): set %s to another port", p.Addr, err, p.Var)
	}
	return l.Close()
}

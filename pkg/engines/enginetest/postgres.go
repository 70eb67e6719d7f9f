package enginetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ThrowawayPostgres starts a second PostgreSQL for t with test/pg.sh (the
// script that starts the test suite's own), with settings passed as its
// environment ("DSGYM_PG_WAL_LEVEL=replica", "DSGYM_PG_MAX_PREPARED=0"),
// and returns its URL; it stops when t ends. It runs where the PostgreSQL
// tests run (DSGYM_POSTGRES_URL set) and skips, or fails under
// RequireEnv, like Need.
func ThrowawayPostgres(t testing.TB, settings ...string) string {
	t.Helper()
	return StartPostgres(t, settings...).URL
}

// Postgres is a throwaway server started by StartPostgres.
type Postgres struct {
	URL    string
	script string
	dir    string
}

// Restart restarts the server with a fast shutdown: every session is cut,
// as a crash or a failover would cut them; the data stays.
func (p *Postgres) Restart() error {
	out, err := exec.Command("bash", p.script, "restart", p.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("restarting PostgreSQL: %v: %s", err, out)
	}
	return nil
}

// StartPostgres is ThrowawayPostgres with the server's handle, to restart it.
func StartPostgres(t testing.TB, settings ...string) *Postgres {
	t.Helper()
	Need(t, "DSGYM_POSTGRES_URL") // engines.PostgresURLEnv; engines imports this package in its tests
	script, err := pgScript()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, "start")
	cmd.Env = append(os.Environ(), settings...)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 && os.Getenv(RequireEnv) == "" {
		t.Skipf("no PostgreSQL server binaries to start a second server: %s", exit.Stderr)
	}
	if err != nil {
		t.Fatalf("test/pg.sh start %v: %v", settings, err)
	}
	var url, dir string
	for _, l := range strings.Split(string(out), "\n") {
		// printf %q in the script escapes characters such as ?
		unq := func(v string) string { return strings.ReplaceAll(strings.Trim(v, "'"), `\`, "") }
		if v, ok := strings.CutPrefix(l, "export DSGYM_POSTGRES_URL="); ok {
			url = unq(v)
		}
		if v, ok := strings.CutPrefix(l, "export DSGYM_PG_DIR="); ok {
			dir = unq(v)
		}
	}
	if url == "" || dir == "" {
		t.Fatalf("test/pg.sh start printed no URL: %s", out)
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", dir).Run() })
	return &Postgres{URL: url, script: script, dir: dir}
}

// pgScript finds test/pg.sh from the working directory upwards (a test
// runs in its package's directory).
func pgScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "test", "pg.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("test/pg.sh not found above the test's directory")
		}
		dir = parent
	}
}

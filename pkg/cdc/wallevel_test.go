package cdc_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/assert"
)

// TestAServerWithoutLogicalWALIsRefusedWithTheFix starts a throwaway
// PostgreSQL with wal_level=replica (test/pg.sh, as the test suite's own
// server is started) and opens a stream on it.
func TestAServerWithoutLogicalWALIsRefusedWithTheFix(t *testing.T) {
	enginetest.Need(t, engines.PostgresURLEnv) // where PostgreSQL tests run, this one runs
	script := filepath.Join("..", "..", "test", "pg.sh")
	cmd := exec.Command("bash", script, "start")
	cmd.Env = append(os.Environ(), "DSGYM_PG_WAL_LEVEL=replica")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		t.Skipf("no PostgreSQL server binaries to start a second server: %s", exit.Stderr)
	}
	if err != nil {
		t.Fatalf("starting a wal_level=replica server: %v", err)
	}
	var url, dir string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "export DSGYM_POSTGRES_URL="); ok {
			url = strings.ReplaceAll(strings.Trim(v, "'"), `\`, "") // printf %q escapes the ?
		}
		if v, ok := strings.CutPrefix(l, "export DSGYM_PG_DIR="); ok {
			dir = strings.ReplaceAll(strings.Trim(v, "'"), `\`, "")
		}
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", dir).Run() })
	_, err = cdc.Open(context.Background(), url, "cdc_replica_slot", "cdc_replica_pub")
	assert.ErrorContains(t, err, "wal_level is replica; logical decoding needs wal_level = logical")
	assert.ErrorContains(t, err, "ALTER SYSTEM SET wal_level = logical")
}

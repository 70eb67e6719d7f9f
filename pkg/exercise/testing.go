package exercise

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Test runs the checks under go test: every failed check becomes one
// t.Errorf sentence, and the summary says how many ran and passed.
//
// The dsgym command line drives it through environment variables:
// DSGYM_ONLY=<id> skips other exercises, DSGYM_REPORT_DIR=<dir> writes the
// report there as JSON, DSGYM_RECORD=1 records it in the progress file.
func (e *Exercise[F]) Test(t *testing.T, impl F) Report {
	t.Helper()
	if only := os.Getenv("DSGYM_ONLY"); only != "" && only != e.ID && !strings.HasPrefix(e.ID, only+"/") {
		t.Skipf("DSGYM_ONLY=%s", only)
	}
	rep := e.Run(impl)
	if dir := os.Getenv("DSGYM_REPORT_DIR"); dir != "" {
		if data, err := json.Marshal(rep); err == nil {
			_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(e.ID, "/", "__")+".json"), data, 0o644)
		}
	}
	if os.Getenv("DSGYM_RECORD") == "1" {
		if err := Record(rep, "cli"); err != nil {
			t.Logf("could not record progress: %v", err)
		}
	}
	if msg := rep.NotImplemented(); msg != "" {
		t.Errorf("%s: %s", e.ID, msg)
		return rep
	}
	for _, r := range rep.Results {
		if r.Outcome != Passed {
			t.Errorf("%s: %s: %s", e.ID, r.Check, r.Message)
		}
	}
	t.Logf("%s", rep.Summary())
	return rep
}

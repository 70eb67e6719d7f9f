// Package notebooks runs notebooks through the real kernel in situations a
// learner can create: a notebook opened outside the repository, and an
// exercise that panics or hangs inside its check. They run when
// DSGYM_NOTEBOOK_TEST=1 (make test sets it).
package notebooks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsgym/dsgym/internal/notebook"
	"github.com/dsgym/dsgym/pkg/nb"
	"github.com/dsgym/dsgym/pkg/warmup/drill"
)

func setup(t *testing.T) (repo, python string) {
	t.Helper()
	if os.Getenv("DSGYM_NOTEBOOK_TEST") == "" {
		t.Skip("runs notebooks through the kernel: make test sets DSGYM_NOTEBOOK_TEST=1")
	}
	repo, err := nb.Root()
	if err != nil {
		t.Fatal(err)
	}
	python = filepath.Join(repo, ".dsgym", "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the project's Python environment is missing: run make setup")
	}
	return repo, python
}

// run executes a notebook with test/nbrun.py and returns the executed copy
// and whether the runner passed.
func run(t *testing.T, repo, python, path string, env ...string) (*notebook.Notebook, bool, string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(python, filepath.Join(repo, "test", "nbrun.py"), "--timeout", "120", "--out", out, path)
	cmd.Env = append(append(os.Environ(), "DSGYM_PROGRESS="+filepath.Join(out, "progress.json")), env...)
	log, err := cmd.CombinedOutput()
	executed, rerr := notebook.Read(filepath.Join(out, filepath.Base(path)))
	if rerr != nil {
		t.Fatalf("no executed notebook (%v); runner said:\n%s", rerr, log)
	}
	return executed, err == nil, string(log)
}

func outputsOf(c *notebook.Cell) string {
	var b strings.Builder
	for _, o := range c.Outputs {
		b.WriteString(strings.ReplaceAll(string(o), `\n`, "\n"))
	}
	return b.String()
}

func TestANotebookOutsideTheRepositoryStopsAtTheFirstCellWithAnExplanation(t *testing.T) {
	repo, python := setup(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(repo, "notebooks", "00-start-here.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "00-start-here.ipynb")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	executed, ok, log := run(t, repo, python, path)
	if ok {
		t.Fatalf("the runner passed a notebook outside the repository:\n%s", log)
	}
	first := outputsOf(executed.Cells[0])
	if !strings.Contains(first, "which is not inside the dsgym repository") || !strings.Contains(first, "make lab") {
		t.Errorf("cell 1 does not say what to do:\n%s", first)
	}
	for i, c := range executed.Cells[1:] {
		if c.Type == "code" && c.ExecutionCount != nil {
			t.Errorf("cell %d ran after the bootstrap failed", i+1)
		}
	}
}

const faultyNotebook = `##cell code {"dsgym": {"role": "bootstrap"}}
BOOTSTRAP
##cell code
// A learner's Percentile that panics on some inputs and hangs on others.
func Percentile(samples []float64, p float64) (float64, error) {
	if p == 100 {
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
	}
	if len(samples) == 1000 {
		select {} // hangs
	}
	return 0, nil
}
##cell code
import "github.com/dsgym/dsgym/pkg/warmup/drill"

%%
drill.Percentile.Check(Percentile)
##cell code
%%
fmt.Println("the kernel is still alive")
`

func TestAPanickingOrHangingExerciseIsReportedAndRunAllGoesOn(t *testing.T) {
	repo, python := setup(t)
	dir := filepath.Join(repo, ".dsgym", "build", "faults")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	nbk, err := notebook.ParseText(strings.Replace(faultyNotebook, "BOOTSTRAP", notebook.BootstrapSource, 1))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "faulty.ipynb")
	if err := nbk.Write(path); err != nil {
		t.Fatal(err)
	}
	executed, ok, log := run(t, repo, python, path, "DSGYM_CHECK_TIMEOUT=2")
	if !ok {
		t.Fatalf("Run All stopped (the check must report, not fail the cell):\n%s", log)
	}
	report := outputsOf(executed.Cells[2])
	for _, want := range []string{
		"p100 is the maximum and a tiny p is the minimum",
		"your code panicked: assignment to entry in nil map",
		"p99 of 1..1000 is 990",
		"did not finish within 2s",
		fmt.Sprintf("of %d checks passed", len(drill.Percentile.Checks)),
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the check report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "goroutine ") || strings.Contains(report, ".go:") {
		t.Errorf("the report shows a stack trace:\n%s", report)
	}
	if !strings.Contains(outputsOf(executed.Cells[3]), "the kernel is still alive") {
		t.Errorf("the cell after the check did not run:\n%s", log)
	}
}

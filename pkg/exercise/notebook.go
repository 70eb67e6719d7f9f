package exercise

import (
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/nb"
)

// varName is how notebooks refer to an exercise: "drill." + Func's first name.
func (e *Exercise[F]) varName() string {
	name, _, _ := strings.Cut(e.Func, ",")
	return "drill." + strings.TrimSpace(name)
}

// Check runs the checks on impl and shows the report: in a notebook as a
// compact box, elsewhere as text. It records the result in the progress
// file. For learners a failing check only reports, so "Run All" goes on; in
// strict mode (DSGYM_STRICT=1, set by CI) a failure exits non-zero, which
// fails the cell.
func (e *Exercise[F]) Check(impl F) Report {
	rep := e.Run(impl)
	rep.Impl = "your code"
	nb.Show(rep.HTML(e.varName()), rep.Text(false, e.varName()))
	if err := Record(rep, "notebook"); err != nil {
		nb.Note(nb.Warning, "could not record progress: %v", err)
	}
	if !rep.OK() && nb.Strict() {
		fmt.Fprintf(os.Stderr, "strict mode (DSGYM_STRICT=1): %s\n", rep.Summary())
		os.Exit(1)
	}
	return rep
}

// Hint shows hint level (1 nudge, 2 concept, 3 near-solution) and records
// that it was seen.
func (e *Exercise[F]) Hint(level int) {
	if level < 1 || level > 3 {
		nb.Note(nb.Warning, "there are hints 1, 2 and 3 for %s; you asked for %d", e.ID, level)
		return
	}
	label := []string{"nudge", "concept", "near-solution"}[level-1]
	text := e.Hints[level-1]
	more := ""
	if level < 3 {
		more = fmt.Sprintf(" (next: %s.Hint(%d))", e.varName(), level+1)
	}
	nb.Show(nb.NoteHTML(nb.Info, fmt.Sprintf("<b>Hint %d of 3 (%s) for %s:</b> %s%s", level, label, html.EscapeString(e.ID), html.EscapeString(text), html.EscapeString(more))),
		fmt.Sprintf("Hint %d of 3 (%s) for %s: %s%s", level, label, e.ID, text, more))
	if err := RecordHint(e.ID, level); err != nil {
		nb.Note(nb.Warning, "could not record progress: %v", err)
	}
}

// Force is passed to [Exercise.Solution] to see the reference before passing.
const Force = true

// Solution shows the reference solution once the checks have passed (from
// the notebook or the command line). Pass [Force] to see it anyway.
func (e *Exercise[F]) Solution(force ...bool) {
	forced := len(force) > 0 && force[0]
	p, err := LoadProgress()
	if err != nil {
		nb.Note(nb.Failure, "cannot read progress: %v", err)
		return
	}
	st := p.Exercises[e.ID]
	if (st == nil || !st.Passed) && !forced {
		nb.Note(nb.Warning, "The reference for %s stays hidden until your checks pass: run the check cell first. To look anyway, call %s.Solution(exercise.Force).", e.ID, e.varName())
		return
	}
	src, err := SolutionSource(e.ID)
	if err != nil {
		nb.Note(nb.Failure, "cannot show the solution: %v", err)
		return
	}
	if forced && (st == nil || !st.Passed) {
		nb.Note(nb.Warning, "Showing the reference for %s before your checks pass.", e.ID)
	}
	nb.Markdown("**Reference solution for " + e.ID + "**\n\n```go\n" + strings.TrimRight(src, "\n") + "\n```")
	_ = RecordSolutionShown(e.ID)
}

// SolutionSource returns the reference source of exercise id, read from
// solutions/ by the dsgym command (.dsgym/bin/dsgym, else go run), which
// keeps the Go parser out of every notebook cell's binary.
func SolutionSource(id string) (string, error) {
	root, err := nb.Root()
	if err != nil {
		return "", err
	}
	var cmd *exec.Cmd
	if bin := filepath.Join(root, ".dsgym", "bin", "dsgym"); isExecutable(bin) {
		cmd = exec.Command(bin, "solution", "--raw", id)
	} else {
		cmd = exec.Command("go", "run", "./cmd/dsgym", "solution", "--raw", id)
	}
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Pick returns impl when it is implemented, else the reference solution, and
// shows a note saying which one an experiment is about to use. A stub is
// told apart by one cheap call (the exercise's Probe, else its first check).
func (e *Exercise[F]) Pick(impl F) F {
	status, msg := e.probe(impl)
	switch status {
	case NotImplemented:
		nb.Note(nb.Info, "%s is still a stub, so this experiment uses the reference solution. Implement it in the exercise cell and run this cell again to use yours.", e.Func)
		return e.Reference
	case Panicked, TimedOut:
		nb.Note(nb.Warning, "%s %s, so this experiment uses the reference solution: %s", e.Func, status, msg)
		return e.Reference
	}
	nb.Note(nb.Success, "This experiment uses your %s.", e.Func)
	return impl
}

func (e *Exercise[F]) probe(impl F) (Outcome, string) {
	if e.Probe != nil {
		probe := e.Probe
		c := Check[F]{Name: "probe", Run: func(_ T, f F) { probe(f) }}
		r := runCheck(c, impl, 5*time.Second)
		return r.Outcome, r.Message
	}
	r := runCheck(e.Checks[0], impl, 5*time.Second)
	if r.Outcome == NotImplemented || r.Outcome == Panicked || r.Outcome == TimedOut {
		return r.Outcome, r.Message
	}
	return Passed, ""
}

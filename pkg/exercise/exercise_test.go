package exercise

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type addFunc = func(a, b int) int

func newAdd() *Exercise[addFunc] {
	return &Exercise[addFunc]{
		ID: "demo/add", Title: "Addition", Task: "add a and b", Func: "Add",
		Hints:     [3]string{"one", "two", "three"},
		Reference: func(a, b int) int { return a + b },
		Timeout:   300 * time.Millisecond,
		Checks: []Check[addFunc]{
			{Name: "two and two make four", Hint: 1, Run: func(t T, f addFunc) {
				require.Equalf(t, 4, f(2, 2), "Add(2, 2)")
			}},
			{Name: "adding zero changes nothing", Hint: 2, Run: func(t T, f addFunc) {
				require.Equalf(t, 7, f(7, 0), "Add(7, 0)")
			}},
		},
	}
}

func TestRunReportsEachOutcome(t *testing.T) {
	tests := []struct {
		name    string
		impl    addFunc
		outcome Outcome
		message string
	}{
		{"a correct function passes", func(a, b int) int { return a + b }, Passed, ""},
		{"a wrong answer fails with input, got and want", func(a, b int) int { return a * b }, Failed, "Add(7, 0): got 0, want 7"},
		{"a stub reports its task", func(a, b int) int { panic("not implemented yet: Add: add a and b") }, NotImplemented, "not implemented yet: Add: add a and b"},
		{"a panic is caught and named", func(a, b int) int { panic("boom") }, Panicked, "your code panicked: boom"},
		{"a nil dereference is caught", func(a, b int) int { var p *int; return *p }, Panicked, "invalid memory address"},
		{"a deadlock times out", func(a, b int) int { select {} }, TimedOut, "did not finish within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := newAdd().Run(tt.impl)
			last := rep.Results[len(rep.Results)-1]
			if last.Outcome != tt.outcome {
				t.Fatalf("outcome = %q (%s), want %q", last.Outcome, last.Message, tt.outcome)
			}
			if !strings.Contains(last.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", last.Message, tt.message)
			}
			if strings.Contains(last.Message, "Error Trace") || strings.Contains(last.Message, ".go:") {
				t.Errorf("message leaks the check's source location: %q", last.Message)
			}
		})
	}
}

func TestOneBadCheckDoesNotStopTheOthers(t *testing.T) {
	calls := 0
	rep := newAdd().Run(func(a, b int) int {
		calls++
		if calls == 1 {
			panic("first call fails")
		}
		return a + b
	})
	if rep.Results[0].Outcome != Panicked || rep.Results[1].Outcome != Passed {
		t.Errorf("results = %+v; want the first to panic and the second to pass", rep.Results)
	}
	if rep.Passed() != 1 || rep.OK() {
		t.Errorf("Passed() = %d, OK() = %v; want 1, false", rep.Passed(), rep.OK())
	}
}

func TestReportSaysExactlyWhatRan(t *testing.T) {
	stub := newAdd().Run(func(a, b int) int { panic(TODO("Add", "add a and b")) })
	if got := stub.Summary(); !strings.Contains(got, "0 of 2 checks passed: not implemented yet: Add: add a and b") {
		t.Errorf("stub summary = %q", got)
	}
	if text := stub.Text(false, "drill.Add"); !strings.HasPrefix(text, "NOT ATTEMPTED YET demo/add") || strings.Contains(text, "FAIL") {
		t.Errorf("a stub as shipped must read as not attempted, not as a failure:\n%s", text)
	}
	if html := stub.HTML("drill.Add"); !strings.Contains(html, `data-state="not-attempted"`) || strings.Contains(html, "#dc2626") {
		t.Errorf("a stub's HTML report must be neutral: %s", html)
	}
	half := newAdd().Run(func(a, b int) int { return a })
	if got := half.Summary(); !strings.Contains(got, "1 of 2 checks passed") {
		t.Errorf("summary = %q, want 1 of 2", got)
	}
	if half.NextHint() != 1 {
		t.Errorf("NextHint = %d, want 1 (the failed check points at hint 1)", half.NextHint())
	}
	text := half.Text(false, "drill.Add")
	for _, want := range []string{"FAIL demo/add", "✓ adding zero changes nothing", "✗ two and two make four", "Add(2, 2): got 2, want 4", "dsgym hint demo/add 1", "drill.Add.Hint(1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}
	if html := half.HTML("drill.Add"); !strings.Contains(html, `data-ok="false"`) || !strings.Contains(html, `data-state="failed"`) || strings.Contains(html, "<script") {
		t.Errorf("report HTML is wrong: %s", html)
	}
}

func TestSentenceCondensesTestifyMessages(t *testing.T) {
	msg := "\n\tError Trace:\t/x/check.go:12\n\tError:      \tNot equal: \n\t            \texpected: 5\n\t            \tactual  : 7\n\t            \t\n\t            \tDiff:\n\t            \t--- Expected\n\tMessages:   \tMean([1 2 3])\n"
	if got, want := Sentence(msg), "Mean([1 2 3]): got 7, want 5"; got != want {
		t.Errorf("Sentence = %q, want %q", got, want)
	}
	if got := Sentence("plain\nmulti  line"); got != "plain multi line" {
		t.Errorf("Sentence(plain) = %q", got)
	}
}

func TestIsNotImplementedRecognisesStubs(t *testing.T) {
	for _, v := range []any{"not implemented yet: F: do it", TODO("F", "do it"), fmt.Errorf("wrapped: %w", &NotImplementedError{"F", "do it"})} {
		ni, ok := IsNotImplemented(v)
		if !ok || ni.Func != "F" || ni.Task != "do it" {
			t.Errorf("IsNotImplemented(%v) = %+v, %v", v, ni, ok)
		}
	}
	for _, v := range []any{"boom", errors.New("other"), 42} {
		if _, ok := IsNotImplemented(v); ok {
			t.Errorf("IsNotImplemented(%v) = true", v)
		}
	}
}

func TestValidateRejectsIncompleteDefinitions(t *testing.T) {
	bad := []struct {
		name string
		mut  func(*Exercise[addFunc])
	}{
		{"an id without a topic", func(e *Exercise[addFunc]) { e.ID = "add" }},
		{"a missing hint", func(e *Exercise[addFunc]) { e.Hints[2] = "" }},
		{"no checks", func(e *Exercise[addFunc]) { e.Checks = nil }},
		{"a duplicate check name", func(e *Exercise[addFunc]) { e.Checks[1].Name = e.Checks[0].Name }},
		{"a hint level out of range", func(e *Exercise[addFunc]) { e.Checks[0].Hint = 4 }},
	}
	for _, tt := range bad {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			e := newAdd()
			tt.mut(e)
			if err := e.Validate(); err == nil {
				t.Errorf("Validate() = nil")
			}
		})
	}
	if err := newAdd().Validate(); err != nil {
		t.Errorf("a complete definition: %v", err)
	}
}

func TestCatchesFlagsACheckThatCannotCatchTheBadVersion(t *testing.T) {
	multiply := func(a, b int) int { return a * b }
	tests := []struct {
		name   string
		bad    addFunc
		checks []string
		errors int
	}{
		{"a check that catches it passes", multiply, []string{"adding zero changes nothing"}, 0},
		{"a check the bad version passes is a defect", multiply, []string{"two and two make four"}, 1},
		{"an unknown check name is an error", multiply, []string{"no such check"}, 1},
		{"a stub does not count as a known-bad version", func(a, b int) int { panic("not implemented yet: Add: x") }, []string{"two and two make four"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeT{}
			newAdd().Catches(ft, "bad", tt.bad, tt.checks...)
			if len(ft.errs) != tt.errors {
				t.Errorf("Catches reported %d errors (%v), want %d", len(ft.errs), ft.errs, tt.errors)
			}
		})
	}
	ft := &fakeT{}
	newAdd().Passes(ft, multiply)
	if len(ft.errs) != 1 {
		t.Errorf("Passes(multiply) reported %d errors, want 1", len(ft.errs))
	}
}

type fakeT struct{ errs []string }

func (f *fakeT) Helper()                        {}
func (f *fakeT) Errorf(format string, a ...any) { f.errs = append(f.errs, fmt.Sprintf(format, a...)) }
func (f *fakeT) Fatalf(format string, a ...any) { f.errs = append(f.errs, fmt.Sprintf(format, a...)) }

func TestProgressSurvivesACorruptFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "progress.json")
	t.Setenv("DSGYM_PROGRESS", path)
	var warned string
	old := Warn
	Warn = func(m string) { warned = m }
	defer func() { Warn = old }()

	rep := newAdd().Run(func(a, b int) int { return a + b })
	if err := Record(rep, "test"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProgress()
	if err != nil {
		t.Fatalf("a corrupt progress file should be replaced, got %v", err)
	}
	if len(p.Exercises) != 0 || !strings.Contains(warned, "kept it as") {
		t.Errorf("after corruption: %d exercises, warning %q", len(p.Exercises), warned)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Errorf("the corrupt file was not kept aside: %v", aside)
	}
	if err := Record(rep, "test"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var back Progress
	if err := json.Unmarshal(data, &back); err != nil || !back.Exercises["demo/add"].Passed {
		t.Errorf("progress after re-recording: %s (%v)", data, err)
	}
}

func TestProgressRecordsBestRunsAndHints(t *testing.T) {
	t.Setenv("DSGYM_PROGRESS", filepath.Join(t.TempDir(), "p.json"))
	e := newAdd()
	_ = Record(e.Run(func(a, b int) int { return a }), "cli")
	_ = Record(e.Run(func(a, b int) int { return a + b }), "notebook")
	_ = Record(e.Run(func(a, b int) int { return 0 }), "notebook")
	_ = RecordHint("demo/add", 2)
	_ = RecordHint("demo/add", 1)
	p, _ := LoadProgress()
	s := p.Exercises["demo/add"]
	if !s.Passed || s.Best != 2 || s.Last != 0 || s.Runs != 3 || s.HintsSeen != 2 {
		t.Errorf("status = %+v; want passed, best 2, last 0, 3 runs, hints 2", s)
	}
}

func TestSummariseGroupsByTopicInNotebookOrder(t *testing.T) {
	cat := []CatalogEntry{{ID: "b/x", Topic: "b", Notebook: "02.ipynb"}, {ID: "a/y", Topic: "a", Notebook: "01.ipynb"}, {ID: "a/z", Topic: "a", Notebook: "01.ipynb"}}
	p := &Progress{Exercises: map[string]*Status{"a/y": {Passed: true, Runs: 1, HintsSeen: 3}}}
	got := Summarise(cat, p)
	if len(got) != 2 || got[0].Topic != "a" || got[0].Solved != 1 || got[0].Total != 2 || got[0].Hints != 3 {
		t.Errorf("Summarise = %+v", got)
	}
	if Bar(1, 2, 4) != "██░░" {
		t.Errorf("Bar(1, 2, 4) = %q", Bar(1, 2, 4))
	}
}

// Package exercise runs the course's exercises: the check suites that judge a
// learner's code, the hints, the reference solutions, and the progress file.
//
// An exercise is a function the learner writes. Its reference solution lives
// in solutions/<topic>; "dsgym sync" generates the stub in exercises/<topic>
// and in the notebook's exercise cell. The same [Exercise] value then judges
// any implementation, wherever it runs:
//
//   - in a notebook cell: [Exercise.Check] shows a compact report;
//   - under go test: [Exercise.Test] fails the test with the same sentences;
//   - from the command line: "dsgym check" runs go test and shows the report.
//
// Checks are written against testify's require.TestingT, so they read like
// ordinary tests, and every failure message carries the input, what the code
// returned and what was wanted. A report never shows a check's source.
package exercise

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// NotImplementedPrefix starts the message every stub panics with:
//
//	panic("not implemented yet: Mean: return the average of xs; an error when xs is empty")
//
// Stubs panic with a plain string so that a notebook's exercise cell needs
// no import: every later cell links only what it uses, and stays fast.
const NotImplementedPrefix = "not implemented yet: "

// NotImplementedError describes a stub that has not been replaced yet.
type NotImplementedError struct {
	Func string // the function to write
	Task string // one line saying what it must do
}

func (e *NotImplementedError) Error() string {
	return NotImplementedPrefix + e.Func + ": " + e.Task
}

// TODO returns the message a stub panics with, for stubs written in Go
// code rather than generated: panic(exercise.TODO("Mean", "...")).
func TODO(function, task string) string {
	return (&NotImplementedError{Func: function, Task: task}).Error()
}

// IsNotImplemented reports whether v (a recovered panic value or an error)
// says that a stub has not been replaced yet.
func IsNotImplemented(v any) (*NotImplementedError, bool) {
	var msg string
	switch x := v.(type) {
	case string:
		msg = x
	case *NotImplementedError:
		return x, true
	case error:
		var ni *NotImplementedError
		if errors.As(x, &ni) {
			return ni, true
		}
		msg = x.Error()
	default:
		return nil, false
	}
	rest, ok := strings.CutPrefix(msg, NotImplementedPrefix)
	if !ok {
		return nil, false
	}
	fn, task, _ := strings.Cut(rest, ": ")
	return &NotImplementedError{Func: fn, Task: task}, true
}

// T is what a check receives: testify's require.TestingT and assert.TestingT
// (Errorf and FailNow) plus Helper and Logf, so *testing.T satisfies it too.
type T interface {
	Errorf(format string, args ...any)
	FailNow()
	Helper()
	Logf(format string, args ...any)
}

// Check is one property an implementation must have.
type Check[F any] struct {
	// Name states the property, e.g. "an empty slice gives an error".
	Name string
	// Hint is the hint level (1-3) that helps with this failure; 0 means 1.
	Hint int
	// Run judges impl; it fails through t with a message that carries the
	// input, the value got and the value wanted.
	Run func(t T, impl F)
}

// Info describes an exercise without its function type, for catalogues.
type Info struct {
	ID       string   // "<topic>/<name>", e.g. "warmup/mean"
	Topic    string   // the part before the slash
	Title    string   // a few words
	Task     string   // one line: what to implement
	Func     string   // the function(s) to write, e.g. "Mean"
	Notebook string   // the notebook holding its cells, e.g. "00-start-here.ipynb"
	Hints    []string // nudge, concept, near-solution
	Checks   []string // the names of its checks, in order
}

// Exercise is one exercise over implementations of type F (a function type).
type Exercise[F any] struct {
	ID       string
	Title    string
	Task     string
	Func     string
	Notebook string
	// Hints: a nudge, then the concept, then something close to the solution.
	Hints [3]string
	// Reference is the reference solution, from solutions/<topic>.
	Reference F
	// Checks are the properties, in the order they run and are reported.
	Checks []Check[F]
	// Probe makes one cheap call of impl; [Exercise.Pick] uses it to tell a
	// stub from an implementation. Nil means the first check is the probe.
	Probe func(impl F)
	// Timeout bounds each check (default 10 s).
	Timeout time.Duration
}

// Info returns the exercise's description.
func (e *Exercise[F]) Info() Info {
	topic, _, _ := strings.Cut(e.ID, "/")
	names := make([]string, len(e.Checks))
	for i, c := range e.Checks {
		names[i] = c.Name
	}
	var hints []string
	for _, h := range e.Hints {
		if h != "" {
			hints = append(hints, h)
		}
	}
	return Info{ID: e.ID, Topic: topic, Title: e.Title, Task: e.Task, Func: e.Func, Notebook: e.Notebook, Hints: hints, Checks: names}
}

// Validate reports what is wrong with the exercise's definition.
func (e *Exercise[F]) Validate() error {
	var probs []string
	topic, name, ok := strings.Cut(e.ID, "/")
	if !ok || topic == "" || name == "" || strings.Contains(name, "/") {
		probs = append(probs, fmt.Sprintf("id %q is not <topic>/<name>", e.ID))
	}
	if e.Title == "" || e.Task == "" || e.Func == "" {
		probs = append(probs, "title, task and func must be set")
	}
	for i, h := range e.Hints {
		if h == "" {
			probs = append(probs, fmt.Sprintf("hint %d is empty", i+1))
		}
	}
	if len(e.Checks) == 0 {
		probs = append(probs, "it has no checks")
	}
	seen := map[string]bool{}
	for _, c := range e.Checks {
		if c.Name == "" || c.Run == nil {
			probs = append(probs, "a check has no name or no Run")
		}
		if seen[c.Name] {
			probs = append(probs, fmt.Sprintf("check %q appears twice", c.Name))
		}
		seen[c.Name] = true
		if c.Hint < 0 || c.Hint > 3 {
			probs = append(probs, fmt.Sprintf("check %q points at hint %d (1-3)", c.Name, c.Hint))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("exercise %s: %s", e.ID, strings.Join(probs, "; "))
	}
	return nil
}

type registered interface {
	Info() Info
	Validate() error
}

var (
	regMu    sync.Mutex
	registry = map[string]registered{}
)

// Register adds an exercise to the catalogue and returns it, so drill
// packages can write: var Mean = exercise.Register(&exercise.Exercise[...]{...}).
// It panics on an invalid definition or a duplicate id: both are authoring
// bugs that tests catch at once.
func Register[F any](e *Exercise[F]) *Exercise[F] {
	if err := e.Validate(); err != nil {
		panic(err)
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[e.ID]; dup {
		panic("exercise " + e.ID + " registered twice")
	}
	registry[e.ID] = e
	return e
}

// All returns the registered exercises, sorted by id.
func All() []Info {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]Info, 0, len(registry))
	for _, e := range registry {
		out = append(out, e.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the registered exercise with the given id.
func Lookup(id string) (Info, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	e, ok := registry[id]
	if !ok {
		return Info{}, false
	}
	return e.Info(), true
}

package exercise

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome is how one check ended.
type Outcome string

// The outcomes of a check.
const (
	Passed         Outcome = "passed"
	Failed         Outcome = "failed"
	NotImplemented Outcome = "not implemented"
	Panicked       Outcome = "panicked"
	TimedOut       Outcome = "timed out"
)

// Result is the result of one check.
type Result struct {
	Check   string  `json:"check"`
	Outcome Outcome `json:"outcome"`
	// Message is one sentence: input, got and want (empty when passed).
	Message string        `json:"message,omitempty"`
	Hint    int           `json:"hint,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
}

// Report is the result of running an exercise's checks on one implementation.
type Report struct {
	Exercise string   `json:"exercise"`
	Title    string   `json:"title"`
	Results  []Result `json:"results"`
	// Impl says whose code ran: "yours", "reference", or a label.
	Impl string `json:"impl,omitempty"`
}

// Passed counts the checks that passed.
func (r Report) Passed() int {
	n := 0
	for _, x := range r.Results {
		if x.Outcome == Passed {
			n++
		}
	}
	return n
}

// OK reports whether every check passed.
func (r Report) OK() bool { return len(r.Results) > 0 && r.Passed() == len(r.Results) }

// NotImplemented returns the stub's message when every check stopped at a
// not-implemented stub, else "".
func (r Report) NotImplemented() string {
	if len(r.Results) == 0 {
		return ""
	}
	for _, x := range r.Results {
		if x.Outcome != NotImplemented {
			return ""
		}
	}
	return r.Results[0].Message
}

// NextHint is the lowest hint level that a failed check points at (0 when
// all passed).
func (r Report) NextHint() int {
	best := 0
	for _, x := range r.Results {
		if x.Outcome == Passed {
			continue
		}
		h := max(1, x.Hint)
		if best == 0 || h < best {
			best = h
		}
	}
	return best
}

// Run runs every check on impl, each in its own goroutine with a time limit,
// and returns the report. A check that panics, loops or deadlocks is reported
// as such; the others still run.
func (e *Exercise[F]) Run(impl F) Report {
	rep := Report{Exercise: e.ID, Title: e.Title}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// DSGYM_CHECK_TIMEOUT (seconds) overrides every check's limit: raise it
	// on a slow machine, lower it to find a hang faster.
	if v, err := strconv.ParseFloat(os.Getenv("DSGYM_CHECK_TIMEOUT"), 64); err == nil && v > 0 {
		timeout = time.Duration(v * float64(time.Second))
	}
	for _, c := range e.Checks {
		announce(e.ID, c.Name)
		rep.Results = append(rep.Results, runCheck(c, impl, timeout))
	}
	return rep
}

// RunningFile is the file in DSGYM_REPORT_DIR that names the check being
// run ("<exercise>\t<check>"): when a panic in a goroutine the learner's
// code started kills the test binary, dsgym check reads it to say which
// check was running.
const RunningFile = "running"

func announce(id, check string) {
	if dir := os.Getenv("DSGYM_REPORT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, RunningFile), []byte(id+"\t"+check), 0o644)
	}
}

func runCheck[F any](c Check[F], impl F, timeout time.Duration) Result {
	rec := &recorder{}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				rec.panicked(v)
			}
		}()
		c.Run(rec, impl)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	res := Result{Check: c.Name, Hint: max(1, c.Hint)}
	select {
	case <-done:
	case <-timer.C:
		res.Outcome = TimedOut
		res.Message = fmt.Sprintf("did not finish within %s: an infinite loop, a deadlock, or work far slower than needed", timeout)
		res.Elapsed = time.Since(start)
		return res
	}
	res.Elapsed = time.Since(start)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case rec.notImpl != nil:
		res.Outcome, res.Message = NotImplemented, rec.notImpl.Error()
	case rec.panic != "":
		res.Outcome, res.Message = Panicked, rec.panic
	case len(rec.msgs) > 0 || rec.failed:
		res.Outcome = Failed
		res.Message = strings.Join(rec.msgs, "; ")
		if res.Message == "" {
			res.Message = "the check failed without a message"
		}
	default:
		res.Outcome = Passed
	}
	return res
}

// recorder is the T a check runs with: it keeps the failure sentences.
type recorder struct {
	mu      sync.Mutex
	msgs    []string
	failed  bool
	panic   string
	notImpl *NotImplementedError
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	if len(r.msgs) < 3 {
		r.msgs = append(r.msgs, Sentence(fmt.Sprintf(format, args...)))
	}
}

func (r *recorder) FailNow() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Helper()                         {}
func (r *recorder) Logf(format string, args ...any) {}

func (r *recorder) panicked(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ni, ok := IsNotImplemented(v); ok {
		r.notImpl = ni
		return
	}
	r.panic = fmt.Sprintf("your code panicked: %v", v)
}

var labelRE = regexp.MustCompile(`^\t([A-Za-z][A-Za-z ]*):\s*\t?(.*)$`)

// Sentence turns a failure message into one line. Messages from testify
// (with "Error Trace:", "Error:", "Messages:" sections) become
// "<Messages>: <Error>", with "expected/actual" turned into "got ..., want ..."
// and no trace, so a report never points into a check's source.
func Sentence(msg string) string {
	if !strings.Contains(msg, "Error Trace:") && !strings.Contains(msg, "\tError:") {
		return oneLine(msg)
	}
	sections := map[string][]string{}
	var cur string
	for _, line := range strings.Split(msg, "\n") {
		if m := labelRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
			sections[cur] = append(sections[cur], m[2])
			continue
		}
		if cur != "" {
			sections[cur] = append(sections[cur], strings.TrimSpace(line))
		}
	}
	errLines := sections["Error"]
	var expected, actual string
	var rest []string
	inDiff := false
	for _, l := range errLines {
		switch {
		case strings.HasPrefix(l, "expected:"):
			expected = strings.TrimSpace(strings.TrimPrefix(l, "expected:"))
		case strings.HasPrefix(l, "actual  :"), strings.HasPrefix(l, "actual:"):
			actual = strings.TrimSpace(l[strings.Index(l, ":")+1:])
		case strings.HasPrefix(l, "Diff:"):
			inDiff = true
		case inDiff:
		default:
			rest = append(rest, l)
		}
	}
	what := oneLine(strings.Join(rest, " "))
	if expected != "" || actual != "" {
		what = "got " + actual + ", want " + expected
	}
	if m := oneLine(strings.Join(sections["Messages"], " ")); m != "" {
		return m + ": " + what
	}
	return what
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const limit = 400
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dsgym/dsgym/internal/gen"
	"github.com/dsgym/dsgym/pkg/exercise"
)

func init() {
	register("list", "list topics and exercises with your status", cmdList)
	register("check", "check your code in exercises/ (all, a topic or one exercise)", cmdCheck)
	register("hint", "show a hint: 1 nudge, 2 concept, 3 near-solution", cmdHint)
	register("solution", "show the reference solution once your check passed", cmdSolution)
	register("progress", "show what you have solved, per topic", cmdProgress)
}

func statusOf(p *exercise.Progress, id string) string {
	s := p.Exercises[id]
	switch {
	case s == nil || s.Runs == 0:
		return "not started"
	case s.Passed:
		return "solved"
	default:
		return fmt.Sprintf("%d/%d checks", s.Last, s.Total)
	}
}

func cmdList(args []string) int {
	fs := newFlags("list", "list", "Lists every exercise by topic, with its notebook and your status.")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	p, err := exercise.LoadProgress()
	if err != nil {
		return fail("%v", err)
	}
	all, _ := resolve("")
	sort.SliceStable(all, func(i, j int) bool { return all[i].Notebook < all[j].Notebook })
	topic := ""
	for _, e := range all {
		if e.Topic != topic {
			topic = e.Topic
			fmt.Printf("\n%s (notebooks/%s)\n", topic, e.Notebook)
		}
		fmt.Printf("  %-32s %-13s %s\n", e.ID, statusOf(p, e.ID), e.Title)
	}
	fmt.Println("\nCheck one with: dsgym check <exercise>; hints with: dsgym hint <exercise>")
	return 0
}

// runChecks runs the exercises' checks under go test in dir ("exercises" or
// "solutions"), with an optional overlay file, and returns their reports.
// A build failure returns the compiler's output as buildErr.
func runChecks(root, dir string, topics []string, only string, record bool, overlay string) (reports map[string]exercise.Report, buildErr string, err error) {
	tmp, err := os.MkdirTemp("", "dsgym-check-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	args := []string{"test", "-count=1", "-timeout=300s"}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	for _, t := range topics {
		args = append(args, "./"+dir+"/"+t+"/")
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DSGYM_REPORT_DIR="+tmp, "DSGYM_ONLY="+only)
	if record {
		cmd.Env = append(cmd.Env, "DSGYM_RECORD=1")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	reports = map[string]exercise.Report{}
	files, _ := filepath.Glob(filepath.Join(tmp, "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, "", err
		}
		var r exercise.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, "", fmt.Errorf("reading a check report: %w", err)
		}
		reports[r.Exercise] = r
	}
	if runErr != nil && !strings.Contains(out.String(), "[build failed]") {
		if rep, ok := crashReport(tmp, out.String()); ok {
			if _, done := reports[rep.Exercise]; !done {
				reports[rep.Exercise] = rep
			}
		}
	}
	if runErr != nil && strings.Contains(out.String(), "[build failed]") || (runErr != nil && len(reports) == 0) {
		return reports, out.String(), nil
	}
	return reports, "", nil
}

// crashReport turns a test binary killed by a panic (one raised in a
// goroutine the learner's code started, which no check can recover) into
// a report for the exercise whose check was running: the check, the panic
// message and where in exercises/ it was raised.
func crashReport(dir, out string) (exercise.Report, bool) {
	running, err := os.ReadFile(filepath.Join(dir, exercise.RunningFile))
	id, check, ok := strings.Cut(string(running), "\t")
	if err != nil || !ok {
		return exercise.Report{}, false
	}
	lines := strings.Split(out, "\n")
	msg, where := "", ""
	for i, l := range lines {
		if msg == "" && strings.HasPrefix(l, "panic: ") {
			msg = strings.TrimPrefix(l, "panic: ")
		}
		if msg != "" && where == "" && strings.Contains(l, "/exercises/") && i > 0 && strings.HasPrefix(strings.TrimSpace(l), "/") {
			file := strings.Fields(strings.TrimSpace(l))[0]
			if j := strings.Index(file, "/exercises/"); j >= 0 {
				where = file[j+1:]
			}
		}
	}
	if msg == "" {
		return exercise.Report{}, false
	}
	text := "panicked in a goroutine your code started, which stopped every check after it: " + msg
	if where != "" {
		text += " (at " + where + ")"
	}
	text += ". A check can recover a panic in your function, not in a goroutine it starts: recover there, or send the error back."
	title := "its checks stopped"
	if e, ok := byID()[id]; ok {
		title = e.Title
	}
	return exercise.Report{Exercise: id, Title: title, Results: []exercise.Result{{Check: check, Outcome: exercise.Panicked, Message: text, Hint: 1}}}, true
}

func topicsOf(exs []exercise.Info) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range exs {
		if !seen[e.Topic] {
			seen[e.Topic] = true
			out = append(out, e.Topic)
		}
	}
	sort.Strings(out)
	return out
}

func cmdCheck(args []string) int {
	fs := newFlags("check", "check [topic|exercise]",
		"Runs the checks on your code in exercises/<topic> (go test underneath) and\n"+
			"prints one report per exercise. Exit status 0 only when every check passes.\n"+
			"Results are recorded in your progress file.")
	noColour := fs.Bool("no-color", false, "never colour the output")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		return fail("check takes at most one topic or exercise, got %d", fs.NArg())
	}
	exs, err := resolve(fs.Arg(0))
	if err != nil {
		return fail("%v", err)
	}
	r, err := root()
	if err != nil {
		return fail("%v", err)
	}
	only := ""
	if len(exs) == 1 {
		only = exs[0].ID
	} else if fs.NArg() == 1 {
		only = exs[0].Topic
	}
	reports, buildErr, err := runChecks(r, "exercises", topicsOf(exs), only, true, "")
	if err != nil {
		return fail("%v", err)
	}
	if buildErr != "" {
		fmt.Fprintln(os.Stderr, "Your code in exercises/ does not build yet; the compiler says:")
		fmt.Fprintln(os.Stderr, indent(trimGoTestNoise(buildErr)))
		return 1
	}
	colour := !*noColour && isTTY(os.Stdout)
	passed := 0
	for _, e := range exs {
		rep, ok := reports[e.ID]
		if !ok {
			fmt.Printf("%s: its checks did not run (is its test in exercises/%s?)\n", e.ID, e.Topic)
			continue
		}
		fmt.Print(rep.Text(colour, ""))
		if rep.OK() {
			passed++
		}
	}
	if len(exs) > 1 {
		fmt.Printf("\n%d of %d exercises pass every check.\n", passed, len(exs))
	}
	if passed != len(exs) {
		return 1
	}
	return 0
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func trimGoTestNoise(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "ok \t") || l == "FAIL" {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

func cmdHint(args []string) int {
	fs := newFlags("hint", "hint <exercise> [level]",
		"Shows a hint for an exercise: 1 a nudge, 2 the concept, 3 close to the solution.\n"+
			"Without a level, shows the next one you have not seen.")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return 2
	}
	e, err := resolveOne(fs.Arg(0))
	if err != nil {
		return fail("%v", err)
	}
	p, err := exercise.LoadProgress()
	if err != nil {
		return fail("%v", err)
	}
	level := 1
	if s := p.Exercises[e.ID]; s != nil {
		level = min(len(e.Hints), s.HintsSeen+1)
	}
	if fs.NArg() == 2 {
		level, err = strconv.Atoi(fs.Arg(1))
		if err != nil || level < 1 || level > len(e.Hints) {
			return fail("hint level must be 1 to %d, got %q", len(e.Hints), fs.Arg(1))
		}
	}
	names := []string{"nudge", "concept", "near-solution"}
	fmt.Printf("Hint %d of %d (%s) for %s:\n  %s\n", level, len(e.Hints), names[level-1], e.ID, e.Hints[level-1])
	if level < len(e.Hints) {
		fmt.Printf("(next: dsgym hint %s %d)\n", e.ID, level+1)
	}
	if err := exercise.RecordHint(e.ID, level); err != nil {
		return fail("could not record progress: %v", err)
	}
	return 0
}

func cmdSolution(args []string) int {
	fs := newFlags("solution", "solution <exercise> [--force]",
		"Prints the reference solution of an exercise, once your checks for it have\n"+
			"passed (from the notebook or dsgym check). --force shows it anyway.")
	force := fs.Bool("force", false, "show it even though your checks have not passed yet")
	raw := fs.Bool("raw", false, "print only the source, with no gate (used by notebooks)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	e, err := resolveOne(fs.Arg(0))
	if err != nil {
		return fail("%v", err)
	}
	r, err := root()
	if err != nil {
		return fail("%v", err)
	}
	files, err := gen.FindExercise(r, e.ID)
	if err != nil {
		return fail("%v", err)
	}
	src, err := gen.SolutionSource(files, e.ID)
	if err != nil {
		return fail("%v", err)
	}
	if *raw {
		fmt.Print(src)
		return 0
	}
	p, err := exercise.LoadProgress()
	if err != nil {
		return fail("%v", err)
	}
	st := p.Exercises[e.ID]
	if st == nil || !st.Passed {
		if !*force {
			fmt.Fprintf(os.Stderr, "The reference for %s stays hidden until your checks pass (dsgym check %s).\nTo look anyway: dsgym solution %s --force\n", e.ID, e.ID, e.ID)
			return 1
		}
		fmt.Fprintf(os.Stderr, "warning: showing the reference for %s before your checks pass; solving it yourself first teaches more.\n\n", e.ID)
	}
	fmt.Printf("// Reference solution for %s (%s)\n\n%s", e.ID, e.Title, src)
	_ = exercise.RecordSolutionShown(e.ID)
	return 0
}

func cmdProgress(args []string) int {
	fs := newFlags("progress", "progress", "Shows how many exercises you have solved in each topic.")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	t, err := exercise.ProgressTable()
	if err != nil {
		return fail("%v", err)
	}
	fmt.Print(t.Text())
	return 0
}

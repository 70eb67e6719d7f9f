package main

import (
	"github.com/dsgym/dsgym/pkg/exercise"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDidYouMeanSuggestsTheClosestName(t *testing.T) {
	names := []string{"check", "hint", "list", "progress", "solution", "warmup", "warmup/percentile"}
	tests := []struct{ in, want string }{
		{"chek", `; did you mean "check"?`},
		{"progres", `; did you mean "progress"?`},
		{"percentile", `; did you mean "warmup/percentile"?`},
		{"zzzzzzzz", ""},
	}
	for _, tt := range tests {
		if got := didYouMean(tt.in, names); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolveAcceptsIdsTopicsAndNames(t *testing.T) {
	for _, arg := range []string{"warmup/percentile", "warmup", "percentile"} {
		ex, err := resolve(arg)
		if err != nil || len(ex) == 0 {
			t.Errorf("resolve(%q) = %v, %v", arg, ex, err)
		}
	}
	if _, err := resolve("warmp"); err == nil {
		t.Error("a misspelt topic should be an error with a suggestion")
	}
}

func TestUnknownCommandsExitWithUsage(t *testing.T) {
	if code := run([]string{"frobnicate"}); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if code := run([]string{"hint", "--help"}); code != 0 {
		t.Errorf("hint --help exit code = %d, want 0", code)
	}
	if code := run([]string{"hint", "warmup/percentile", "9"}); code != 1 {
		t.Errorf("hint level 9 exit code = %d, want 1", code)
	}
}

func TestFlagsMayComeAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		force bool
		pos   []string
	}{
		{[]string{"x", "--force", "y"}, true, []string{"x", "y"}},
		{[]string{"--force", "x"}, true, []string{"x"}},
		{[]string{"x", "--force"}, true, []string{"x"}},
		{[]string{"x", "y"}, false, []string{"x", "y"}},
		{[]string{"x", "--", "--force"}, false, []string{"x", "--force"}},
	} {
		fs := newFlags("t", "t", "test")
		force := fs.Bool("force", false, "")
		if code, ok := parse(fs, tc.args); !ok {
			t.Fatalf("parse(%q) stopped with %d", tc.args, code)
		}
		if *force != tc.force || strings.Join(fs.Args(), " ") != strings.Join(tc.pos, " ") {
			t.Errorf("parse(%q): force %v, positionals %q; want %v, %q", tc.args, *force, fs.Args(), tc.force, tc.pos)
		}
	}
}

func TestACrashedTestBinaryIsReportedAsAPanicInTheRunningCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, exercise.RunningFile), []byte("shuffle/salt\tthe sums equal"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := "panic: assignment to entry in nil map\n\ngoroutine 7 [running]:\ngithub.com/dsgym/dsgym/exercises/shuffle.SaltedSum.func1()\n\t/home/me/dsgym/exercises/shuffle/salt.go:24 +0x2c\ncreated by ...\nFAIL\tgithub.com/dsgym/dsgym/exercises/shuffle\t0.01s\n"
	rep, ok := crashReport(dir, out)
	if !ok || rep.Exercise != "shuffle/salt" || len(rep.Results) != 1 {
		t.Fatalf("crashReport = %+v, %v", rep, ok)
	}
	r := rep.Results[0]
	if r.Outcome != exercise.Panicked || r.Check != "the sums equal" || !strings.Contains(r.Message, "assignment to entry in nil map") || !strings.Contains(r.Message, "exercises/shuffle/salt.go:24") {
		t.Errorf("result = %+v", r)
	}
	if _, ok := crashReport(dir, "FAIL\tx\t0.1s\n"); ok {
		t.Error("an output without a panic is not a crash")
	}
}

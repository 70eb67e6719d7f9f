package main

import "testing"

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

func TestReorderPutsFlagsFirst(t *testing.T) {
	got := reorder([]string{"x", "--force", "y"})
	if len(got) != 3 || got[0] != "--force" {
		t.Errorf("reorder = %v", got)
	}
}

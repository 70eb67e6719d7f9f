// Package setup tests the set-up scripts against the faults a new user can
// hit: a missing or old Go, an old Python, a full disk, an interrupted or
// repeated set-up. The tests that change the real .dsgym run only when
// DSGYM_SETUP_TEST=1 (make test sets it), never beside running notebooks.
package setup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dsgym/dsgym/pkg/nb"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := nb.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeBin makes a directory of stub programs: name -> shell body.
func fakeBin(t *testing.T, progs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range progs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// realTool returns a directory holding only a symlink to the named real tool.
func linkTools(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			t.Skipf("%s not on PATH", n)
		}
		if err := os.Symlink(p, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

func runScript(t *testing.T, env []string, script string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(root(t), script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// basics are the tools every script uses, linked into fake PATHs.
var basics = []string{"dirname", "cat", "cut", "sed", "awk", "df", "mkdir", "grep", "sha256sum", "id", "uname", "mktemp", "rm", "mv", "printf", "tr", "head", "date", "cmp", "wc", "chmod", "cp", "ls", "bash"}

// realPython is the interpreter itself (not a version-manager shim, which
// would need its own tools on PATH).
func realPython(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 not available")
	}
	return strings.TrimSpace(string(out))
}

func TestDoctorExplainsEachMissingPrerequisiteInOneSentence(t *testing.T) {
	python := realPython(t)
	gitPath, _ := exec.LookPath("git")
	goPath, _ := exec.LookPath("go")
	tests := []struct {
		name  string
		progs map[string]string
		real  []string
		env   []string
		want  string
	}{
		{"no Go", map[string]string{"python3": "exec " + python + ` "$@"`, "git": "exec " + gitPath + ` "$@"`}, nil, nil,
			"Go is not installed or not on PATH: install Go 1.26 or newer"},
		{"an old Go", map[string]string{"go": `[ "$1 $2" = "env GOVERSION" ] && echo go1.22.5 && exit 0; exit 1`, "python3": "exec " + python + ` "$@"`, "git": "exec " + gitPath + ` "$@"`}, nil, nil,
			"Go 1.22.5 is too old: dsgym needs Go 1.26 or newer"},
		{"an old Python", map[string]string{"go": "exec " + goPath + ` "$@"`, "python3": `echo 3.8; exit 0`, "git": "exec " + gitPath + ` "$@"`}, nil, nil,
			"No Python 3.10 or newer found on PATH"},
		{"a full disk", map[string]string{"go": "exec " + goPath + ` "$@"`, "python3": "exec " + python + ` "$@"`, "git": "exec " + gitPath + ` "$@"`}, nil, []string{"DSGYM_MIN_DISK_MB=999999999"},
			"MiB free on the disk holding"},
		{"no git", map[string]string{"go": "exec " + goPath + ` "$@"`, "python3": "exec " + python + ` "$@"`}, nil, nil,
			"git is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is one sentence and a non-zero exit", func(t *testing.T) {
			dir := fakeBin(t, tt.progs)
			linkTools(t, dir, basics...)
			home := filepath.Join(t.TempDir(), "home")
			env := append([]string{"PATH=" + dir, "DSGYM_HOME=" + home, "DSGYM_PYTHON="}, tt.env...)
			out, code := runScript(t, env, "kernel-setup/doctor.sh", "--quick")
			if code != 1 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit 1 and %q", code, out, tt.want)
			}
			if strings.Count(out, "PROBLEM") != 1 {
				t.Errorf("want exactly one problem reported:\n%s", out)
			}
		})
	}
}

func TestSetupStopsBeforeInstallingAnythingWhenAPrerequisiteIsMissing(t *testing.T) {
	python := realPython(t)
	dir := fakeBin(t, map[string]string{
		"go":      `[ "$1 $2" = "env GOVERSION" ] && echo go1.20 && exit 0; echo "setup must not run go past the doctor" >&2; exit 1`,
		"python3": "exec " + python + ` "$@"`,
		"git":     "exit 0",
	})
	linkTools(t, dir, basics...)
	home := filepath.Join(t.TempDir(), "home")
	out, code := runScript(t, []string{"PATH=" + dir, "DSGYM_HOME=" + home}, "kernel-setup/setup.sh")
	if code == 0 || !strings.Contains(out, "Nothing was installed") {
		t.Fatalf("setup exit %d:\n%s", code, out)
	}
	for _, sub := range []string{"venv", "bin", "stamps"} {
		if _, err := os.Stat(filepath.Join(home, sub)); err == nil {
			t.Errorf("setup created %s before failing", sub)
		}
	}
}

// snapshot hashes every file setup manages under .dsgym (not logs, builds,
// progress or Jupyter runtime files), with its modification time.
func snapshot(t *testing.T, home string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"bin", "stamps", "static", "venv/share/jupyter/kernels", "venv/etc/jupyter", "venv/share/jupyter/lab/settings"} {
		_ = filepath.WalkDir(filepath.Join(home, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			out[p] = hex.EncodeToString(sum[:8]) + " " + info.ModTime().String()
			return nil
		})
	}
	return out
}

func diff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+" (new)")
		}
	}
	sort.Strings(d)
	return d
}

func TestSetupTwiceChangesNothingAndRepairsWhatWasLost(t *testing.T) {
	if os.Getenv("DSGYM_SETUP_TEST") == "" {
		t.Skip("changes the real .dsgym: runs under make test (DSGYM_SETUP_TEST=1)")
	}
	r := root(t)
	home := filepath.Join(r, ".dsgym")
	setup := func() {
		t.Helper()
		out, code := runScript(t, nil, "kernel-setup/setup.sh")
		if code != 0 {
			t.Fatalf("setup failed (%d):\n%s", code, out)
		}
	}
	setup()
	before := snapshot(t, home)
	setup()
	if d := diff(before, snapshot(t, home)); len(d) > 0 {
		t.Errorf("a second setup changed: %v", d)
	}
	// An interrupted or damaged install: a tool and the kernel spec gone.
	lost := []string{filepath.Join(home, "bin", "goimports"), filepath.Join(home, "venv", "share", "jupyter", "kernels", "gonb", "kernel.json")}
	for _, p := range lost {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	setup()
	for _, p := range lost {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("setup did not restore %s", p)
		}
	}
	out, code := runScript(t, nil, "kernel-setup/doctor.sh")
	if code != 0 {
		t.Errorf("doctor after repair (exit %d):\n%s", code, out)
	}
	fmt.Println(strings.TrimSpace(out))
}

package nb

import (
	"bufio"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is the Go module path of this repository.
const ModulePath = "github.com/dsgym/dsgym"

// Root returns the repository's root directory: $DSGYM_ROOT when set, else
// the directory holding this package's source (notebooks and tests compile
// it from the working tree), else the first directory at or above the
// working directory whose go.mod declares [ModulePath].
func Root() (string, error) {
	if r := os.Getenv("DSGYM_ROOT"); r != "" {
		if isRepoRoot(r) {
			return r, nil
		}
		return "", fmt.Errorf("DSGYM_ROOT=%s is not a dsgym checkout (no go.mod for %s there)", r, ModulePath)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		r := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		if isRepoRoot(r) {
			return r, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isRepoRoot(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", errors.New("cannot find the dsgym repository: open the notebook from the repository's notebooks/ folder, or set DSGYM_ROOT")
}

func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "module ") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "module")), `"`) == ModulePath
		}
	}
	return false
}

// Status describes the environment a notebook runs in, as [Ready] reports it.
type Status struct {
	Root       string // repository root
	GoVersion  string // Go toolchain that built the cell
	InNotebook bool   // running as a GoNB cell
	OfflineJS  bool   // the local chart library is installed
	Strict     bool   // DSGYM_STRICT is on
	Problems   []string
}

// Check gathers the [Status] without displaying anything.
func Check() Status {
	st := Status{GoVersion: runtime.Version(), InNotebook: InNotebook(), Strict: Strict()}
	root, err := Root()
	if err != nil {
		st.Problems = append(st.Problems, err.Error())
		return st
	}
	st.Root = root
	if fi, err := os.Stat(filepath.Join(root, ".dsgym", "static", "dsgym", "echarts.min.js")); err == nil && fi.Size() > 0 {
		st.OfflineJS = true
	}
	return st
}

// Ready is the last line of every notebook's first cell: it confirms that
// the repository's packages were imported and says what this session uses.
// Any problem is shown as one sentence with what to do about it.
func Ready() Status {
	st := Check()
	if len(st.Problems) > 0 {
		msg := "dsgym is not ready: " + strings.Join(st.Problems, "; ")
		Show(NoteHTML(Failure, html.EscapeString(msg)), msg)
		return st
	}
	charts := "charts: local ECharts"
	if !st.OfflineJS {
		charts = "charts: ECharts from the CDN (run make setup for an offline copy)"
	}
	mode := ""
	if st.Strict {
		mode = " · strict checks (DSGYM_STRICT=1)"
	}
	msg := fmt.Sprintf("dsgym ready · %s · %s · %s%s", st.Root, st.GoVersion, charts, mode)
	Show(NoteHTML(Success, html.EscapeString(msg)), msg)
	return st
}

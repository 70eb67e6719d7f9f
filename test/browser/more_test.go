package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsgym/dsgym/internal/notebook"
	"github.com/dsgym/dsgym/pkg/viz"
)

// executedNotebooks returns the notebooks the runner executed as shipped
// (make test runs it before this test), with how many charts each drew.
func executedNotebooks(t *testing.T, repo string) map[string]int {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(repo, ".dsgym", "build", "nbrun", "*.ipynb"))
	out := map[string]int{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".solutions.ipynb") {
			continue
		}
		if _, err := os.Stat(filepath.Join(repo, "notebooks", filepath.Base(p))); err != nil {
			continue // a stale output of a notebook that no longer exists
		}
		nb, err := notebook.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range nb.Cells {
			for _, o := range c.Outputs {
				n += strings.Count(string(o), `class=\"dsgym-chart\"`)
			}
		}
		out[p] = n
	}
	if len(out) == 0 {
		skipOrFail(t, "no executed notebooks in .dsgym/build/nbrun: run the notebooks first (make test does)")
	}
	return out
}

func chartStates(ctx context.Context) ([]chartState, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]chartState](chartsStateJS))
}

func waitCharts(ctx context.Context, want int, timeout time.Duration) ([]chartState, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := chartStates(ctx)
		settled := err == nil && len(st) >= want
		for _, c := range st {
			if c.State == "pending" {
				settled = false
			}
		}
		if settled || time.Now().After(deadline) {
			return st, err
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func assertDrawn(t *testing.T, where string, st []chartState, want int) {
	t.Helper()
	if len(st) != want {
		t.Errorf("%s: %d charts on the page, want %d", where, len(st), want)
	}
	for i, c := range st {
		if c.State != "drawn" || !c.SVG {
			t.Errorf("%s: chart %d did not draw (state %q, svg %v): %.150s", where, i+1, c.State, c.SVG, c.Text)
		}
	}
}

// TestExecutedNotebooksDrawEveryChartInJupyterLab opens every notebook as
// the runner executed it, trusted, so JupyterLab runs the chart outputs'
// scripts on load, and checks that every chart of every chapter drew.
func TestExecutedNotebooksDrawEveryChartInJupyterLab(t *testing.T) {
	chrome := browserOrSkip(t)
	repo := repoRoot(t)
	nbs := executedNotebooks(t, repo)
	copies := map[string]string{}
	for p := range nbs {
		copies[filepath.Base(p)] = p
	}
	l := startLab(t, repo, copies)
	for name := range copies {
		cmd := exec.Command(filepath.Join(repo, ".dsgym", "venv", "bin", "jupyter"), "trust", filepath.Join(l.root, "notebooks", name))
		cmd.Env = append(os.Environ(), jupyterEnv(repo)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("jupyter trust %s: %v\n%s", name, err, out)
		}
	}
	root := newBrowser(t, chrome)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	for p, want := range nbs {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			// One tab per notebook, closed afterwards: navigating one tab from
			// notebook to notebook would meet JupyterLab's "leave this page?"
			// prompt, which blocks forever in a headless browser.
			tab, closeTab := chromedp.NewContext(root)
			defer closeTab()
			ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
			defer cancel()
			// A workspace of its own, reset, so JupyterLab does not restore the
			// notebooks other subtests opened.
			url := l.url + "/lab/workspaces/" + strings.TrimSuffix(name, ".ipynb") + "/tree/notebooks/" + name + "?reset&token=" + l.token
			if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`.jp-Notebook .jp-Cell`))); err != nil {
				t.Fatalf("opening %s: %v", name, err)
			}
			st, err := waitCharts(ctx, want, 60*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			assertDrawn(t, name, st, want)
			mer, err := waitMermaid(ctx, mermaidOutputs(t, p), 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range mer {
				if !m.SVG || m.Error != "" {
					t.Errorf("%s: diagram %d did not render (svg %v, error %q)", name, i+1, m.SVG, m.Error)
				}
			}
			shot(t, ctx, l.root, strings.TrimSuffix(name, ".ipynb")+"-executed.png")
			for i := range st {
				sel := chromedp.JSPath(fmt.Sprintf(`document.querySelectorAll('.dsgym-chart')[%d]`, i))
				if err := chromedp.Do(ctx, chromedp.ScrollIntoView(sel)); err != nil {
					continue
				}
				if png, err := chromedp.Run(ctx, chromedp.Screenshot(sel)); err == nil {
					_ = os.WriteFile(filepath.Join(l.root, fmt.Sprintf("%s-chart-%02d.png", strings.TrimSuffix(name, ".ipynb"), i+1)), png, 0o644)
				}
			}
			t.Logf("%s: %d charts and %d diagrams drawn", name, len(st), len(mer))
		})
	}
}

// mermaidOutputs counts the Mermaid diagrams among a notebook's outputs.
func mermaidOutputs(t *testing.T, path string) int {
	t.Helper()
	nb, err := notebook.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			n += strings.Count(string(o), `"text/vnd.mermaid"`)
		}
	}
	return n
}

type mermaidState struct {
	SVG   bool   `json:"svg"`
	Error string `json:"error"`
}

// waitMermaid waits until want Mermaid outputs are on the page and each has
// rendered (an SVG) or failed (an error text), and returns their states.
func waitMermaid(ctx context.Context, want int, timeout time.Duration) ([]mermaidState, error) {
	// JupyterLab draws text/vnd.mermaid outputs as .jp-RenderedMermaid
	// holding an <img> of the SVG; a diagram that does not parse shows
	// Mermaid's "Syntax error" picture or a warning instead.
	const js = `[...document.querySelectorAll('.jp-RenderedMermaid')].map(o => {
	  const img = o.querySelector('img');
	  const src = img ? decodeURIComponent(img.getAttribute('src') || '') : '';
	  const svg = src.startsWith('data:image/svg+xml') || !!o.querySelector('svg');
	  const bad = o.classList.contains('jp-mod-warning') || /Syntax error|Parse error/i.test(src + ' ' + o.textContent);
	  return {svg: svg && !bad, error: bad ? (o.textContent || 'syntax error').slice(0, 200) : ''};
	})`
	deadline := time.Now().Add(timeout)
	for {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[[]mermaidState](js))
		done := err == nil && len(st) >= want
		for _, m := range st {
			if !m.SVG && m.Error == "" {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			if err == nil && len(st) < want {
				return st, fmt.Errorf("%d Mermaid outputs on the page, want %d", len(st), want)
			}
			return st, err
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestExportedPagesDrawOffline exports the executed notebooks as static
// HTML (make html's path) and opens each page from a file, with no network:
// the inlined chart library must draw every chart.
func TestExportedPagesDrawOffline(t *testing.T) {
	chrome := browserOrSkip(t)
	repo := repoRoot(t)
	nbs := executedNotebooks(t, repo)
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(repo, "test", "export-html.sh"), "--from", filepath.Join(repo, ".dsgym", "build", "nbrun"))
	cmd.Env = append(os.Environ(), "DSGYM_HTML_OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export-html.sh: %v\n%s", err, b)
	}
	ctx := newBrowser(t, chrome)
	for p, want := range nbs {
		page := filepath.Join(out, strings.TrimSuffix(filepath.Base(p), ".ipynb")+".html")
		t.Run(filepath.Base(page), func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
				t.Fatal(err)
			}
			st, err := waitCharts(ctx, want, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			assertDrawn(t, page, st, want)
		})
	}
}

// TestChartsDrawWhereRequireJSIsLoaded serves a page like the classic
// notebook's: an AMD define on the page and the base URL on the body. The
// chart must still load the library from the server's static path and draw,
// without the library registering itself as an AMD module instead.
func TestChartsDrawWhereRequireJSIsLoaded(t *testing.T) {
	chrome := browserOrSkip(t)
	repo := repoRoot(t)
	lib := filepath.Join(repo, ".dsgym", "static", "dsgym", "echarts.min.js")
	if _, err := os.Stat(lib); err != nil {
		skipOrFail(t, "no local chart library (%s): run make setup", lib)
	}
	chart := viz.Bar("AMD page", []string{"a", "b"}, viz.Series{Name: "n", Values: []float64{1, 2}}).HTML()
	page := `<!doctype html><html><head><script>
window.amdCalls = 0;
window.define = function () { window.amdCalls++; };
window.define.amd = {};
window.require = function () {};
</script></head><body data-base-url="/nb/">` + chart + `</body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nb/static/dsgym/echarts.min.js":
			http.ServeFile(w, r, lib)
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, page)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := newBrowser(t, chrome)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	st, err := waitCharts(ctx, 1, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	assertDrawn(t, "AMD page", st, 1)
	calls, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.amdCalls`))
	if err != nil || calls != 0 {
		t.Errorf("the library registered with AMD %d times (err %v); it should have set the global", calls, err)
	}
}

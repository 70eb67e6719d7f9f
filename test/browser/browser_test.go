// Package browser checks, in a real headless Chromium driving the project's
// own JupyterLab, that the notebooks run and that their charts draw.
//
// It runs when DSGYM_BROWSER_TEST=1 (make test sets it). Without Chromium it
// skips with a message saying how to enable it, except under CI (CI=true),
// where that is a failure.
package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsgym/dsgym/pkg/nb"
)

func ci() bool { return os.Getenv("CI") == "true" }

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if ci() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

func findChromium() string {
	if p := os.Getenv("DSGYM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/Applications/Chromium.app/Contents/MacOS/Chromium", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lab is a running JupyterLab serving a copy of some notebooks.
type lab struct {
	url, token, root string
}

// startLab copies the named notebooks under .dsgym/build/browser (inside the
// repository, so the bootstrap cell finds go.mod) and serves that folder.
func startLab(t *testing.T, repo string, notebooks map[string]string) *lab {
	t.Helper()
	jupyter := filepath.Join(repo, ".dsgym", "venv", "bin", "jupyter")
	if _, err := os.Stat(jupyter); err != nil {
		skipOrFail(t, "the project's JupyterLab is not installed (%s): run make setup", jupyter)
	}
	work := filepath.Join(repo, ".dsgym", "build", "browser")
	_ = os.RemoveAll(work)
	if err := os.MkdirAll(filepath.Join(work, "notebooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range notebooks {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "notebooks", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	l := &lab{token: hex.EncodeToString(b[:]), root: work}
	port := freePort(t)
	l.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(work, "jupyter.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"lab", "--no-browser",
		"--ServerApp.ip=127.0.0.1", fmt.Sprintf("--ServerApp.port=%d", port), "--ServerApp.port_retries=0",
		"--IdentityProvider.token=" + l.token, "--ServerApp.root_dir=" + work}
	if os.Getuid() == 0 {
		args = append(args, "--allow-root")
	}
	cmd := exec.Command(jupyter, args...)
	cmd.Env = append(os.Environ(), "DSGYM_PROGRESS="+filepath.Join(work, "progress.json"))
	cmd.Env = append(cmd.Env, jupyterEnv(repo)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Ask the server to shut down (it stops its kernels), then make sure.
		if req, err := http.NewRequest("POST", l.url+"/api/shutdown?token="+l.token, nil); err == nil {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(l.url + "/api/status?token=" + l.token)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("JupyterLab did not answer within 90 s; its log is %s", logf.Name())
		}
		time.Sleep(300 * time.Millisecond)
	}
	return l
}

// jupyterEnv keeps Jupyter's configuration and runtime files inside .dsgym,
// as kernel-setup/lib.sh does for the scripts.
func jupyterEnv(repo string) []string {
	home := filepath.Join(repo, ".dsgym", "jupyter")
	return []string{
		"JUPYTER_CONFIG_DIR=" + filepath.Join(home, "config"),
		"JUPYTER_DATA_DIR=" + filepath.Join(home, "data"),
		"JUPYTER_RUNTIME_DIR=" + filepath.Join(home, "runtime"),
		"JUPYTERLAB_SETTINGS_DIR=" + filepath.Join(home, "lab-settings-test"),
		"JUPYTERLAB_WORKSPACES_DIR=" + filepath.Join(home, "lab-workspaces-test"),
		"JUPYTER_PLATFORM_DIRS=1",
	}
}

func newBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		// Offline, as a learner on a plane: only loopback resolves, so the
		// CDN fallback cannot hide a broken local copy of the chart library.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	return ctx
}

// poll evaluates a JavaScript expression until it returns true.
func poll(ctx context.Context, js string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for: %s", timeout, js)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

const chartsStateJS = `(() => {
  const charts = [...document.querySelectorAll('.dsgym-chart')];
  return charts.map(c => ({state: c.getAttribute('data-dsgym-chart'), svg: !!c.querySelector('svg, canvas'), text: c.innerText.slice(0, 200)}));
})()`

type chartState struct {
	State string `json:"state"`
	SVG   bool   `json:"svg"`
	Text  string `json:"text"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := nb.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func browserOrSkip(t *testing.T) string {
	t.Helper()
	if os.Getenv("DSGYM_BROWSER_TEST") == "" {
		t.Skip("the browser test runs under make test (DSGYM_BROWSER_TEST=1)")
	}
	chrome := findChromium()
	if chrome == "" {
		skipOrFail(t, "no Chromium found: install it (Debian/Ubuntu: apt-get install chromium) or set DSGYM_CHROMIUM to a Chrome/Chromium binary")
	}
	return chrome
}

// TestStartHereRunsAndDrawsChartsInJupyterLab opens 00-start-here in
// JupyterLab, runs every cell from the Run menu, and asserts that every
// chart drew an SVG and that no cell ended in an error.
func TestStartHereRunsAndDrawsChartsInJupyterLab(t *testing.T) {
	chrome := browserOrSkip(t)
	repo := repoRoot(t)
	l := startLab(t, repo, map[string]string{"00-start-here.ipynb": filepath.Join(repo, "notebooks", "00-start-here.ipynb")})
	ctx := newBrowser(t, chrome)
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()

	url := l.url + "/lab/workspaces/live/tree/notebooks/00-start-here.ipynb?reset&token=" + l.token
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`.jp-Notebook .jp-Cell`))); err != nil {
		t.Fatalf("opening the notebook in JupyterLab: %v", err)
	}
	// The kernel must be connected and idle before Run All.
	if err := waitKernelIdle(l, 120*time.Second); err != nil {
		shot(t, ctx, l.root, "00-start-here-kernel.png")
		t.Fatalf("the GoNB kernel did not start: %v", err)
	}
	if err := menu(ctx, "Run", "runmenu:run-all"); err != nil {
		shot(t, ctx, l.root, "00-start-here-menu.png")
		t.Fatalf("clicking Run > Run All Cells: %v", err)
	}
	start := time.Now()
	// Every code cell shows an execution count, except the bootstrap, whose
	// folded input shows no prompt; it must show "dsgym ready" instead.
	done := `(() => {
	  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
	  const shown = prompts.filter(p => p !== '');
	  const ready = /dsgym ready/.test((document.querySelector('.jp-CodeCell .jp-OutputArea') || {}).textContent || '');
	  return ready && shown.length >= prompts.length - 1 && shown.every(p => /^\[\d+\]:$/.test(p));
	})()`
	if err := poll(ctx, done, 4*time.Minute); err != nil {
		prompts, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll(".jp-CodeCell .jp-InputPrompt")].map(p => p.textContent.trim()))`))
		t.Logf("prompts: %s", prompts)
		shot(t, ctx, l.root, "00-start-here-timeout.png")
		t.Fatalf("not every cell finished: %v", err)
	}
	t.Logf("Run All finished in %s", time.Since(start).Round(100*time.Millisecond))
	if err := poll(ctx, `[...document.querySelectorAll('.dsgym-chart')].every(c => c.getAttribute('data-dsgym-chart') !== 'pending')`, 30*time.Second); err != nil {
		t.Errorf("charts still pending after 30 s: %v", err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartState](chartsStateJS))
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) < 2 {
		t.Errorf("found %d charts in 00-start-here, want at least 2", len(charts))
	}
	for i, c := range charts {
		if c.State != "drawn" || !c.SVG {
			t.Errorf("chart %d did not draw: state %q, svg %v, text %q", i+1, c.State, c.SVG, c.Text)
		}
	}
	shot(t, ctx, l.root, "00-start-here.png")
	for i := range charts {
		sel := chromedp.JSPath(fmt.Sprintf(`document.querySelectorAll('.dsgym-chart')[%d]`, i))
		if err := chromedp.Do(ctx, chromedp.ScrollIntoView(sel), chromedp.Sleep(300*time.Millisecond)); err != nil {
			continue
		}
		if png, err := chromedp.Run(ctx, chromedp.Screenshot(sel)); err == nil {
			_ = os.WriteFile(filepath.Join(l.root, fmt.Sprintf("00-start-here-chart-%d.png", i+1)), png, 0o644)
		}
	}

	// Save, then read the notebook back: no output may be an error.
	if err := menu(ctx, "File", "docmanager:save"); err != nil {
		t.Fatalf("saving the notebook: %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	errs := errorOutputs(t, l, "notebooks/00-start-here.ipynb")
	for _, e := range errs {
		t.Errorf("a cell ended in an error: %s", e)
	}
	t.Logf("%d charts drawn; screenshots in %s", len(charts), l.root)
}

// menu clicks a menu bar entry, then the menu item running command, the way
// a person does: Lumino menus act on the item under the pointer, so the
// pointer moves there before each click.
func menu(ctx context.Context, label, command string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bar := fmt.Sprintf(`[...document.querySelectorAll('.lm-MenuBar-item')].find(li => li.innerText.trim() === %q)`, label)
	item := fmt.Sprintf(`document.querySelector('li.lm-Menu-item[data-command=%q]')`, command)
	if err := clickAt(ctx, bar); err != nil {
		return fmt.Errorf("menu %q: %w", label, err)
	}
	if err := poll(ctx, "!!"+item, 10*time.Second); err != nil {
		return err
	}
	if err := clickAt(ctx, item); err != nil {
		return fmt.Errorf("menu item %q: %w", command, err)
	}
	return nil
}

// clickAt moves the pointer to the centre of the element a JavaScript
// expression gives, then clicks there.
func clickAt(ctx context.Context, elementJS string) error {
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const e = %s; if (!e) return []; const r = e.getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`, elementJS)))
	if err != nil {
		return err
	}
	if len(rect) != 2 {
		return fmt.Errorf("no element for %s", elementJS)
	}
	return chromedp.Do(ctx,
		chromedp.MouseEvent(chromedp.MouseMoved, rect[0], rect[1]),
		chromedp.Sleep(100*time.Millisecond),
		chromedp.MouseClickXY(rect[0], rect[1]),
	)
}

// waitKernelIdle polls the server until a kernel is idle with a client
// connected (the page's own indicator can stay "unknown" until a cell runs).
func waitKernelIdle(l *lab, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(l.url + "/api/kernels?token=" + l.token)
		if err == nil {
			var kernels []struct {
				State       string `json:"execution_state"`
				Connections int    `json:"connections"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&kernels)
			resp.Body.Close()
			for _, k := range kernels {
				if k.State == "idle" && k.Connections > 0 {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no idle, connected kernel after %s", timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// errorOutputs reads a notebook through the Jupyter REST API and returns a
// description of every error output, and of every stderr output that shows
// a panic or a failed test.
func errorOutputs(t *testing.T, l *lab, path string) []string {
	t.Helper()
	resp, err := http.Get(l.url + "/api/contents/" + path + "?content=1&token=" + l.token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc struct {
		Content struct {
			Cells []struct {
				CellType string `json:"cell_type"`
				Outputs  []struct {
					OutputType string `json:"output_type"`
					Name       string `json:"name"`
					Text       any    `json:"text"`
					EName      string `json:"ename"`
					EValue     string `json:"evalue"`
				} `json:"outputs"`
			} `json:"cells"`
		} `json:"content"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("reading the saved notebook: %v", err)
	}
	var out []string
	for i, c := range doc.Content.Cells {
		for _, o := range c.Outputs {
			text := fmt.Sprint(o.Text)
			switch {
			case o.OutputType == "error":
				out = append(out, fmt.Sprintf("cell %d: %s: %s", i, o.EName, o.EValue))
			case o.Name == "stderr" && (strings.Contains(text, "panic:") || strings.Contains(text, "--- FAIL") || strings.Contains(text, "exit status")):
				out = append(out, fmt.Sprintf("cell %d: stderr: %.300s", i, text))
			}
		}
	}
	return out
}

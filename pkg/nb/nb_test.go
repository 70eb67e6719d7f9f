package nb

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTablesRenderInThreeForms(t *testing.T) {
	tb := NewTable("scheme", "max/mean", "moved").WithCaption("Skew").
		Row("jump", 1.006, "9.1%").
		Row("modulo <N>", 1.01, "90.9%")
	txt := tb.Text()
	if !strings.Contains(txt, "scheme      max/mean  moved") || !strings.Contains(txt, "jump           1.006   9.1%") {
		t.Errorf("text table is not aligned (numbers to the right):\n%s", txt)
	}
	if md := tb.Markdown(); !strings.Contains(md, "|---|---:|---:|") || !strings.Contains(md, "| modulo <N> | 1.01 | 90.9% |") {
		t.Errorf("markdown table:\n%s", md)
	}
	if h := tb.HTML(); !strings.Contains(h, "modulo &lt;N&gt;") || strings.Contains(h, "<N>") {
		t.Errorf("HTML table does not escape cells: %s", h)
	}
}

func TestShowPrintsTextOutsideANotebook(t *testing.T) {
	var buf bytes.Buffer
	old := Out
	Out = &buf
	defer func() { Out = old }()
	Show("<b>x</b>", "plain x\n")
	Note(Warning, "careful: %d", 3)
	if got := buf.String(); got != "plain x\n[warning] careful: 3\n" {
		t.Errorf("output = %q", got)
	}
}

func TestProgressThrottlesAndSummarises(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := &Progress{label: "runs", total: 100, w: &buf, every: 5 * time.Second, now: func() time.Time { return now }}
	p.start = now
	for i := 0; i < 100; i++ {
		now = now.Add(100 * time.Millisecond)
		p.Add(1)
	}
	p.Done()
	p.Done() // a second Done prints nothing more
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// 10 s of work, a line at most every 5 s, plus the summary.
	if len(lines) > 3 {
		t.Errorf("progress printed %d lines, want at most 3:\n%s", len(lines), buf.String())
	}
	if last := lines[len(lines)-1]; last != "runs: 100 done in 10s" {
		t.Errorf("summary = %q", last)
	}
}

func TestCountUsesThousandsSeparators(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRootFindsTheRepositoryOrExplains(t *testing.T) {
	r, err := Root()
	if err != nil || !isRepoRoot(r) {
		t.Fatalf("Root() = %q, %v", r, err)
	}
	t.Setenv("DSGYM_ROOT", t.TempDir())
	if _, err := Root(); err == nil || !strings.Contains(err.Error(), "not a dsgym checkout") {
		t.Errorf("a wrong DSGYM_ROOT: %v", err)
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if isRepoRoot(dir) {
		t.Error("another module's go.mod was taken for dsgym's")
	}
}

func TestReadyReportsTheSession(t *testing.T) {
	var buf bytes.Buffer
	old := Out
	Out = &buf
	defer func() { Out = old }()
	st := Ready()
	if len(st.Problems) > 0 || !strings.HasPrefix(buf.String(), "dsgym ready · ") {
		t.Errorf("Ready() = %+v, printed %q", st, buf.String())
	}
}

func ExampleTable() {
	fmt.Print(NewTable("nodes", "majority").Row(3, 2).Row(5, 3).Text())
	// Output:
	// nodes  majority
	// -----  --------
	//     3         2
	//     5         3
}

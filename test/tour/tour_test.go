// Package tour checks that the chapter lists people read (the README's tour
// and 00-start-here's table) tell the truth about notebooks/: every
// chapter marked ready exists, every notebook is listed, and nothing
// planned pretends to be there.
package tour

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var row = regexp.MustCompile("(?m)^\\| `([0-9]{2}-[a-z0-9-]+)` \\|.*\\| (ready|planned)[^|]*\\|\\s*$")

func notebooks(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../notebooks/*.ipynb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no notebooks found (%v)", err)
	}
	out := map[string]bool{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".ipynb")] = true
	}
	return out
}

// markdownOf returns the markdown cells of a notebook, joined.
func markdownOf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string `json:"cell_type"`
			Source   any    `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, c := range nb.Cells {
		if c.CellType != "markdown" {
			continue
		}
		switch s := c.Source.(type) {
		case string:
			sb.WriteString(s)
		case []any:
			for _, l := range s {
				sb.WriteString(l.(string))
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestChapterListsMatchTheNotebooks(t *testing.T) {
	have := notebooks(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []struct{ name, text string }{
		{"README.md", string(readme)},
		{"00-start-here.ipynb", markdownOf(t, "../../notebooks/00-start-here.ipynb")},
	} {
		t.Run(doc.name, func(t *testing.T) {
			listed := map[string]bool{}
			for _, m := range row.FindAllStringSubmatch(doc.text, -1) {
				name, status := m[1], m[2]
				listed[name] = true
				if status == "ready" && !have[name] {
					t.Errorf("%s lists %s as ready; notebooks/%s.ipynb does not exist", doc.name, name, name)
				}
				if status == "planned" && have[name] {
					t.Errorf("%s lists %s as planned; it is in notebooks/", doc.name, name)
				}
			}
			for name := range have {
				if !listed[name] {
					t.Errorf("%s does not list notebooks/%s.ipynb with a status", doc.name, name)
				}
			}
		})
	}
}

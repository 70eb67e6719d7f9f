package exercise

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dsgym/dsgym/pkg/nb"
)

// CatalogEntry is one exercise as listed in exercises/catalog.json.
type CatalogEntry struct {
	ID       string   `json:"id"`
	Topic    string   `json:"topic"`
	Title    string   `json:"title"`
	Task     string   `json:"task"`
	Func     string   `json:"func"`
	Notebook string   `json:"notebook"`
	Checks   []string `json:"checks"`
	Hints    int      `json:"hints"`
}

// LoadCatalog reads exercises/catalog.json (written by dsgym sync), which
// lists every exercise of the course without linking in their code.
func LoadCatalog() ([]CatalogEntry, error) {
	root, err := nb.Root()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(root, "exercises", "catalog.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the exercise catalogue: %w (run: go run ./cmd/dsgym sync)", err)
	}
	var doc struct {
		Exercises []CatalogEntry `json:"exercises"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("exercises/catalog.json is not valid JSON: %w (run: go run ./cmd/dsgym sync)", err)
	}
	return doc.Exercises, nil
}

// TopicProgress summarises one topic.
type TopicProgress struct {
	Topic    string
	Notebook string
	Solved   int
	Started  int
	Total    int
	Hints    int
}

// Summarise groups the catalogue by topic with the learner's progress.
func Summarise(cat []CatalogEntry, p *Progress) []TopicProgress {
	by := map[string]*TopicProgress{}
	var order []string
	for _, e := range cat {
		tp := by[e.Topic]
		if tp == nil {
			tp = &TopicProgress{Topic: e.Topic, Notebook: e.Notebook}
			by[e.Topic] = tp
			order = append(order, e.Topic)
		}
		tp.Total++
		if s := p.Exercises[e.ID]; s != nil {
			if s.Passed {
				tp.Solved++
			}
			if s.Runs > 0 {
				tp.Started++
			}
			tp.Hints += s.HintsSeen
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := by[order[i]], by[order[j]]
		if a.Notebook != b.Notebook {
			return a.Notebook < b.Notebook
		}
		return a.Topic < b.Topic
	})
	out := make([]TopicProgress, len(order))
	for i, t := range order {
		out[i] = *by[t]
	}
	return out
}

// Bar draws solved/total as a text bar of the given width.
func Bar(solved, total, width int) string {
	if total <= 0 {
		return strings.Repeat("░", width)
	}
	n := solved * width / total
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}

// ProgressTable returns the learner's progress as a table, one row per topic.
func ProgressTable() (*nb.Table, error) {
	cat, err := LoadCatalog()
	if err != nil {
		return nil, err
	}
	p, err := LoadProgress()
	if err != nil {
		return nil, err
	}
	t := nb.NewTable("topic", "notebook", "solved", "progress", "hints seen")
	t.Align = []byte{'l', 'l', 'r', 'l', 'r'}
	solved, total := 0, 0
	for _, tp := range Summarise(cat, p) {
		t.Row(tp.Topic, tp.Notebook, fmt.Sprintf("%d / %d", tp.Solved, tp.Total), Bar(tp.Solved, tp.Total, 12), tp.Hints)
		solved += tp.Solved
		total += tp.Total
	}
	t.Caption = fmt.Sprintf("Your progress: %d of %d exercises solved", solved, total)
	return t, nil
}

// ShowProgress displays [ProgressTable].
func ShowProgress() {
	t, err := ProgressTable()
	if err != nil {
		nb.Note(nb.Failure, "cannot show progress: %v", err)
		return
	}
	t.Show()
}

// Package notebook reads, writes and normalises the course's Jupyter
// notebooks (nbformat 4), and converts them to and from a plain-text form
// that is easier to write and review.
//
// Notebooks are committed normalised: no outputs, no execution counts, keys
// sorted, one source line per JSON string, so diffs show only real changes.
package notebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Cell is one notebook cell.
type Cell struct {
	ID       string         // nbformat 4.5 cell id
	Type     string         // "markdown", "code" or "raw"
	Metadata map[string]any // cell metadata (tags, dsgym role, ...)
	Source   string         // the cell's text
	// Outputs and ExecutionCount are kept as read, so that executed notebooks
	// can be inspected; Normalize drops them.
	Outputs        []json.RawMessage
	ExecutionCount any
}

// Notebook is a notebook: metadata and cells.
type Notebook struct {
	Metadata map[string]any
	Cells    []*Cell
	// NBFormat and NBFormatMinor are the format version (4, 5).
	NBFormat, NBFormatMinor int
}

// KernelMetadata is the notebook metadata every course notebook carries:
// the GoNB kernel and the Go language.
func KernelMetadata() map[string]any {
	return map[string]any{
		"kernelspec": map[string]any{
			"display_name": "Go (GoNB, dsgym)",
			"language":     "go",
			"name":         "gonb",
		},
		"language_info": map[string]any{
			"codemirror_mode":    "",
			"file_extension":     ".go",
			"mimetype":           "text/x-go",
			"name":               "go",
			"nbconvert_exporter": "",
			"pygments_lexer":     "",
			"version":            "go1.26",
		},
	}
}

// Read parses a notebook file.
func Read(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	nb, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return nb, nil
}

type rawCell struct {
	ID             string            `json:"id"`
	CellType       string            `json:"cell_type"`
	Metadata       map[string]any    `json:"metadata"`
	Source         json.RawMessage   `json:"source"`
	Outputs        []json.RawMessage `json:"outputs"`
	ExecutionCount any               `json:"execution_count"`
}

type rawNotebook struct {
	Cells         []rawCell      `json:"cells"`
	Metadata      map[string]any `json:"metadata"`
	NBFormat      int            `json:"nbformat"`
	NBFormatMinor int            `json:"nbformat_minor"`
}

// Parse parses notebook JSON.
func Parse(data []byte) (*Notebook, error) {
	var raw rawNotebook
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a notebook (invalid JSON): %w", err)
	}
	if raw.NBFormat != 4 {
		return nil, fmt.Errorf("notebook format %d is not supported (want 4)", raw.NBFormat)
	}
	nb := &Notebook{Metadata: raw.Metadata, NBFormat: raw.NBFormat, NBFormatMinor: raw.NBFormatMinor}
	for i, rc := range raw.Cells {
		src, err := sourceString(rc.Source)
		if err != nil {
			return nil, fmt.Errorf("cell %d: %w", i, err)
		}
		if rc.Metadata == nil {
			rc.Metadata = map[string]any{}
		}
		nb.Cells = append(nb.Cells, &Cell{ID: rc.ID, Type: rc.CellType, Metadata: rc.Metadata, Source: src, Outputs: rc.Outputs, ExecutionCount: rc.ExecutionCount})
	}
	return nb, nil
}

func sourceString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return "", fmt.Errorf("source is neither a string nor a list of strings")
	}
	return strings.Join(lines, ""), nil
}

// splitLines splits text into nbformat's source lines (each keeps its "\n").
func splitLines(s string) []string {
	if s == "" {
		return []string{}
	}
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// Normalize strips outputs and execution counts, drops per-run metadata
// (execution timings, collapsed/scrolled state), sets the kernel metadata,
// and gives every cell an id.
func (nb *Notebook) Normalize() {
	nb.NBFormat, nb.NBFormatMinor = 4, 5
	meta := KernelMetadata()
	for k, v := range nb.Metadata {
		if k == "kernelspec" || k == "language_info" || k == "widgets" {
			continue
		}
		meta[k] = v
	}
	nb.Metadata = meta
	seen := map[string]bool{}
	for i, c := range nb.Cells {
		c.Outputs = nil
		c.ExecutionCount = nil
		for _, k := range []string{"execution", "collapsed", "scrolled", "editable_ephemeral"} {
			delete(c.Metadata, k)
		}
		c.Source = strings.TrimRight(c.Source, "\n")
		if c.ID == "" || seen[c.ID] {
			c.ID = fmt.Sprintf("cell-%03d", i)
			for seen[c.ID] {
				c.ID += "x"
			}
		}
		seen[c.ID] = true
	}
}

// Marshal encodes the notebook as Jupyter does (sorted keys, indent 1,
// source as a list of lines). Code cells keep their outputs, if any.
func (nb *Notebook) Marshal() ([]byte, error) {
	cells := make([]map[string]any, 0, len(nb.Cells))
	for _, c := range nb.Cells {
		m := map[string]any{
			"cell_type": c.Type,
			"id":        c.ID,
			"metadata":  orEmpty(c.Metadata),
			"source":    splitLines(c.Source),
		}
		if c.Type == "code" {
			outs := c.Outputs
			if outs == nil {
				outs = []json.RawMessage{}
			}
			m["outputs"] = outs
			m["execution_count"] = c.ExecutionCount
		}
		cells = append(cells, m)
	}
	doc := map[string]any{
		"cells":          cells,
		"metadata":       orEmpty(nb.Metadata),
		"nbformat":       nb.NBFormat,
		"nbformat_minor": nb.NBFormatMinor,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Write writes the notebook to path (atomically).
func (nb *Notebook) Write(path string) error {
	data, err := nb.Marshal()
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// WriteFileAtomic writes data to a temporary file beside path, then renames
// it over path, so a crash never leaves a half-written file.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(dirOf(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// DSGym returns the cell's "dsgym" metadata object (nil when absent).
func (c *Cell) DSGym() map[string]any {
	m, _ := c.Metadata["dsgym"].(map[string]any)
	return m
}

// Role returns the cell's dsgym role ("bootstrap", "exercise", "check", ...).
func (c *Cell) Role() string {
	s, _ := c.DSGym()["role"].(string)
	return s
}

// Exercise returns the exercise id a cell belongs to ("" when none).
func (c *Cell) Exercise() string {
	s, _ := c.DSGym()["exercise"].(string)
	return s
}

// Tags returns the cell's tags.
func (c *Cell) Tags() []string {
	raw, _ := c.Metadata["tags"].([]any)
	var out []string
	for _, t := range raw {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// HasOutputs reports whether any code cell carries outputs or an execution
// count.
func (nb *Notebook) HasOutputs() bool {
	for _, c := range nb.Cells {
		if len(c.Outputs) > 0 || c.ExecutionCount != nil {
			return true
		}
	}
	return false
}

// SortedMetaKeys is a helper for stable printing of metadata.
func SortedMetaKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

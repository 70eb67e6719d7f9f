package notebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The text form of a notebook: each cell starts with a header line
//
//	##cell markdown
//	##cell code {"dsgym": {"role": "check", "exercise": "warmup/mean"}}
//
// followed by the cell's source. The optional JSON after the type is the
// cell's metadata. Text before the first header is an error.
const cellPrefix = "##cell "

// ParseText builds a normalised notebook from its text form.
func ParseText(text string) (*Notebook, error) {
	nb := &Notebook{Metadata: map[string]any{}}
	var cur *Cell
	var body []string
	flush := func() {
		if cur != nil {
			cur.Source = strings.Trim(strings.Join(body, "\n"), "\n")
			nb.Cells = append(nb.Cells, cur)
		}
	}
	for n, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, cellPrefix) {
			flush()
			head := strings.TrimSpace(strings.TrimPrefix(line, cellPrefix))
			typ, meta, _ := strings.Cut(head, " ")
			if typ != "markdown" && typ != "code" && typ != "raw" {
				return nil, fmt.Errorf("line %d: cell type %q is not markdown, code or raw", n+1, typ)
			}
			cur = &Cell{Type: typ, Metadata: map[string]any{}}
			if meta = strings.TrimSpace(meta); meta != "" {
				if err := json.Unmarshal([]byte(meta), &cur.Metadata); err != nil {
					return nil, fmt.Errorf("line %d: cell metadata is not a JSON object: %w", n+1, err)
				}
			}
			body = nil
			continue
		}
		if cur == nil {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return nil, fmt.Errorf("line %d: text before the first %q header", n+1, strings.TrimSpace(cellPrefix))
		}
		body = append(body, line)
	}
	flush()
	nb.Normalize()
	return nb, nil
}

// Text renders the notebook in its text form (outputs are not included).
func (nb *Notebook) Text() string {
	var b strings.Builder
	for i, c := range nb.Cells {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(cellPrefix + c.Type)
		if len(c.Metadata) > 0 {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(c.Metadata)
			b.WriteString(" " + strings.TrimSpace(buf.String()))
		}
		b.WriteString("\n")
		if c.Source != "" {
			b.WriteString(c.Source + "\n")
		}
	}
	return b.String()
}

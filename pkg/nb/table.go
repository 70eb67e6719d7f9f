package nb

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Table is a small table for notebook output: a header row and data rows.
// Build one with [NewTable], add rows with [Table.Row], then [Table.Show] it
// or take its [Table.HTML], [Table.Markdown] or [Table.Text].
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
	// Align holds one of 'l', 'r', 'c' per column; missing columns align
	// left, except that columns whose cells all look numeric align right.
	Align []byte
}

// NewTable returns a table with the given header.
func NewTable(header ...string) *Table { return &Table{Header: header} }

// Row appends a row; each cell is formatted with %v (floats with %.4g).
func (t *Table) Row(cells ...any) *Table {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = formatCell(c)
	}
	t.Rows = append(t.Rows, row)
	return t
}

// WithCaption sets the caption shown above the table.
func (t *Table) WithCaption(caption string) *Table { t.Caption = caption; return t }

func formatCell(c any) string {
	switch v := c.(type) {
	case float64:
		return fmt.Sprintf("%.4g", v)
	case float32:
		return fmt.Sprintf("%.4g", v)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func (t *Table) width() int {
	w := len(t.Header)
	for _, r := range t.Rows {
		w = max(w, len(r))
	}
	return w
}

func (t *Table) cell(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

func (t *Table) align(col int) byte {
	if col < len(t.Align) && t.Align[col] != 0 {
		return t.Align[col]
	}
	numeric := len(t.Rows) > 0
	for _, r := range t.Rows {
		if !looksNumeric(t.cell(r, col)) {
			numeric = false
			break
		}
	}
	if numeric {
		return 'r'
	}
	return 'l'
}

func looksNumeric(s string) bool {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "%"), "x"))
	if s == "" {
		return false
	}
	var f float64
	_, err := fmt.Sscanf(s, "%g", &f)
	return err == nil
}

// HTML renders the table as an HTML fragment.
func (t *Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table class="dsgym-table" style="border-collapse:collapse;font-family:system-ui,sans-serif;font-size:13px;margin:4px 0">`)
	if t.Caption != "" {
		fmt.Fprintf(&b, `<caption style="text-align:left;font-weight:600;padding:2px 0">%s</caption>`, html.EscapeString(t.Caption))
	}
	w := t.width()
	style := func(col int, head bool) string {
		a := map[byte]string{'l': "left", 'r': "right", 'c': "center"}[t.align(col)]
		s := "padding:3px 10px;border-bottom:1px solid #ddd;text-align:" + a
		if head {
			s += ";border-bottom:2px solid #999"
		}
		return s
	}
	if len(t.Header) > 0 {
		b.WriteString("<thead><tr>")
		for i := 0; i < w; i++ {
			fmt.Fprintf(&b, `<th style="%s">%s</th>`, style(i, true), html.EscapeString(t.cell(t.Header, i)))
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for i := 0; i < w; i++ {
			fmt.Fprintf(&b, `<td style="%s">%s</td>`, style(i, false), html.EscapeString(t.cell(r, i)))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// Markdown renders the table as a GitHub-flavoured Markdown table.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Caption != "" {
		fmt.Fprintf(&b, "**%s**\n\n", t.Caption)
	}
	w := t.width()
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	row := func(r []string) {
		b.WriteString("|")
		for i := 0; i < w; i++ {
			b.WriteString(" " + esc(t.cell(r, i)) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString("|")
	for i := 0; i < w; i++ {
		switch t.align(i) {
		case 'r':
			b.WriteString("---:|")
		case 'c':
			b.WriteString(":---:|")
		default:
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// Text renders the table as aligned plain text.
func (t *Table) Text() string {
	w := t.width()
	widths := make([]int, w)
	for i := 0; i < w; i++ {
		widths[i] = utf8.RuneCountInString(t.cell(t.Header, i))
		for _, r := range t.Rows {
			widths[i] = max(widths[i], utf8.RuneCountInString(t.cell(r, i)))
		}
	}
	var b strings.Builder
	if t.Caption != "" {
		b.WriteString(t.Caption + "\n")
	}
	line := func(r []string) {
		parts := make([]string, w)
		for i := 0; i < w; i++ {
			c := t.cell(r, i)
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if t.align(i) == 'r' {
				parts[i] = pad + c
			} else {
				parts[i] = c + pad
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
	}
	if len(t.Header) > 0 {
		line(t.Header)
		seps := make([]string, w)
		for i := range seps {
			seps[i] = strings.Repeat("-", widths[i])
		}
		b.WriteString(strings.Join(seps, "  ") + "\n")
	}
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// Show displays the table (HTML in a notebook, aligned text elsewhere).
func (t *Table) Show() { Show(t.HTML(), t.Text()) }

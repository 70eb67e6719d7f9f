// Package nb is what every dsgym notebook needs: the bootstrap check
// ([Ready]), rich output that also reads well as plain text ([Show],
// [Markdown], [Note], [Table]), and a progress display for long runs
// ([NewProgress]).
//
// Everything here works both inside a GoNB cell (rich output in the notebook)
// and in a terminal or a test (plain text on stdout), so experiments can be
// run and checked outside JupyterLab too.
package nb

import (
	"fmt"
	"html"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// Out is where plain-text output goes when not running inside GoNB.
// Tests may replace it.
var Out io.Writer = os.Stdout

var mu sync.Mutex

// InNotebook reports whether the program runs as a GoNB cell.
func InNotebook() bool { return gonbui.IsNotebook }

// Strict reports whether strict mode is on (DSGYM_STRICT=1, which CI sets):
// checks that fail then fail the cell instead of only reporting.
func Strict() bool {
	v := os.Getenv("DSGYM_STRICT")
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// Show displays one output with an HTML form and a plain-text form. In a
// notebook both are sent (JupyterLab shows the HTML; text-only viewers show
// the text); elsewhere the text is printed.
func Show(htmlText, plain string) {
	mu.Lock()
	defer mu.Unlock()
	if gonbui.IsNotebook {
		gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
			protocol.MIMETextHTML:  htmlText,
			protocol.MIMETextPlain: plain,
		}})
		flush()
		return
	}
	fmt.Fprintln(Out, strings.TrimRight(plain, "\n"))
}

// flush waits until GoNB has taken every output sent so far. Without it, an
// output sent just before the cell's program exits can be lost: GoNB closes
// its end of the pipe when the program ends, possibly before reading all of
// it. The wait is bounded so that a broken pipe never hangs a cell.
func flush() {
	done := make(chan struct{})
	go func() {
		gonbui.Sync()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
}

// update replaces the output block identified by id (created on first use).
func update(id, htmlText, plain string, final bool) {
	mu.Lock()
	defer mu.Unlock()
	if gonbui.IsNotebook {
		gonbui.SendData(&protocol.DisplayData{
			Data: map[protocol.MIMEType]any{
				protocol.MIMETextHTML:  htmlText,
				protocol.MIMETextPlain: plain,
			},
			DisplayID: id,
		})
		if final {
			flush()
		}
	}
}

// Markdown displays Markdown in a notebook and prints it as is elsewhere.
func Markdown(md string) {
	mu.Lock()
	defer mu.Unlock()
	if gonbui.IsNotebook {
		gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
			protocol.MIMETextMarkdown: md,
			protocol.MIMETextPlain:    md,
		}})
		flush()
		return
	}
	fmt.Fprintln(Out, strings.TrimRight(md, "\n"))
}

// Mermaid displays a Mermaid diagram (JupyterLab 4 draws it natively); the
// source is also the plain-text form.
func Mermaid(src string) {
	mu.Lock()
	defer mu.Unlock()
	if gonbui.IsNotebook {
		gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
			"text/vnd.mermaid":     src,
			protocol.MIMETextPlain: src,
		}})
		flush()
		return
	}
	fmt.Fprintln(Out, strings.TrimRight(src, "\n"))
}

// Kind selects the colour of a [Note].
type Kind int

// The kinds of note.
const (
	Info Kind = iota
	Success
	Warning
	Failure
)

var kindStyle = map[Kind]struct{ border, bg, label string }{
	Info:    {"#3b82f6", "#eff6ff", "note"},
	Success: {"#16a34a", "#f0fdf4", "ok"},
	Warning: {"#d97706", "#fffbeb", "warning"},
	Failure: {"#dc2626", "#fef2f2", "failed"},
}

// Note displays a short highlighted message (one or a few sentences).
// The text is plain text, not HTML.
func Note(kind Kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	Show(NoteHTML(kind, html.EscapeString(msg)), "["+kindStyle[kind].label+"] "+msg)
}

// NoteHTML returns the HTML of a note box around already-escaped HTML.
func NoteHTML(kind Kind, innerHTML string) string {
	s := kindStyle[kind]
	return fmt.Sprintf(`<div class="dsgym-note dsgym-note-%s" style="border-left:4px solid %s;background:%s;color:#111;padding:6px 10px;margin:4px 0;font-family:system-ui,sans-serif;font-size:13px;line-height:1.45">%s</div>`,
		s.label, s.border, s.bg, innerHTML)
}

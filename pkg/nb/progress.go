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
)

// Progress shows how far a long run has got: a bar that updates in place in
// a notebook, a carriage-return line on a terminal, and an occasional line in
// a log. Updates are throttled, so calling [Progress.Add] in a hot loop is
// cheap. It is safe for concurrent use.
type Progress struct {
	label string
	total int64

	mu       sync.Mutex
	done     int64
	start    time.Time
	last     time.Time
	finished bool
	id       string
	w        io.Writer
	tty      bool
	now      func() time.Time
	every    time.Duration
}

// NewProgress starts a progress display for total units of work (total <= 0
// means unknown).
func NewProgress(label string, total int) *Progress {
	p := &Progress{label: label, total: int64(total), now: time.Now, w: os.Stderr}
	p.start = p.now()
	if gonbui.IsNotebook {
		p.id = "dsgym-progress-" + gonbui.UniqueId()
		p.every = 150 * time.Millisecond
		p.render(true)
	} else {
		p.tty = isTerminal(os.Stderr)
		if p.tty {
			p.every = 100 * time.Millisecond
		} else {
			p.every = 5 * time.Second
		}
	}
	return p
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add records n more units of work done.
func (p *Progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	p.maybeRender()
}

// Set records that n units of work are done in all.
func (p *Progress) Set(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = int64(n)
	p.maybeRender()
}

func (p *Progress) maybeRender() {
	if p.finished {
		return
	}
	now := p.now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	p.render(false)
}

// Done finishes the display with a summary line.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	elapsed := p.now().Sub(p.start)
	msg := fmt.Sprintf("%s: %s done in %s", p.label, count(p.done), round(elapsed))
	switch {
	case p.id != "":
		update(p.id, NoteHTML(Success, html.EscapeString(msg)), msg, true)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\033[K\n", msg)
	default:
		fmt.Fprintln(p.w, msg)
	}
}

func (p *Progress) render(first bool) {
	elapsed := p.now().Sub(p.start)
	frac := -1.0
	if p.total > 0 {
		frac = min(1, float64(p.done)/float64(p.total))
	}
	status := count(p.done)
	if p.total > 0 {
		status = fmt.Sprintf("%s / %s (%.0f%%)", count(p.done), count(p.total), 100*frac)
		if frac > 0.02 && !first {
			eta := time.Duration(float64(elapsed) * (1 - frac) / frac)
			status += ", about " + round(eta) + " left"
		}
	}
	text := p.label + ": " + status
	switch {
	case p.id != "":
		bar := ""
		if frac >= 0 {
			bar = fmt.Sprintf(`<div style="background:#e5e7eb;height:8px;border-radius:4px;width:320px;margin-top:3px"><div style="background:#3b82f6;height:8px;border-radius:4px;width:%.1f%%"></div></div>`, 100*frac)
		}
		update(p.id, fmt.Sprintf(`<div class="dsgym-progress" style="font-family:system-ui,sans-serif;font-size:13px">%s%s</div>`, html.EscapeString(text), bar), text, false)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\033[K", text)
	case !first:
		fmt.Fprintln(p.w, text)
	}
}

func count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func round(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

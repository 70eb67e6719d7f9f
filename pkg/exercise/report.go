package exercise

import (
	"fmt"
	"html"
	"strings"
)

// Summary is the report's headline, e.g.
// "warmup/mean (Average of a slice): 2 of 4 checks passed".
func (r Report) Summary() string {
	who := ""
	if r.Impl != "" {
		who = ", " + r.Impl
	}
	if msg := r.NotImplemented(); msg != "" {
		return fmt.Sprintf("%s (%s%s): 0 of %d checks passed: %s", r.Exercise, r.Title, who, len(r.Results), msg)
	}
	return fmt.Sprintf("%s (%s%s): %d of %d checks passed", r.Exercise, r.Title, who, r.Passed(), len(r.Results))
}

// NextStep is the sentence that tells the learner what to do next.
func (r Report) NextStep(varName string) string {
	switch {
	case r.OK():
		return "All checks pass. The reference solution is now available: dsgym solution " + r.Exercise + (inNB(varName, ".Solution()"))
	case r.NotImplemented() != "":
		return "Replace the stub in the exercise cell (or in exercises/" + strings.SplitN(r.Exercise, "/", 2)[0] + ") with your code, then run the check again. Stuck? hint 1: dsgym hint " + r.Exercise + " 1" + inNB(varName, ".Hint(1)")
	default:
		h := r.NextHint()
		return fmt.Sprintf("Next: hint %d: dsgym hint %s %d%s", h, r.Exercise, h, inNB(varName, fmt.Sprintf(".Hint(%d)", h)))
	}
}

func inNB(varName, call string) string {
	if varName == "" {
		return ""
	}
	return ", or " + varName + call + " in a cell"
}

var symbol = map[Outcome]string{Passed: "✓", Failed: "✗", NotImplemented: "·", Panicked: "✗", TimedOut: "⏱"}

// Text renders the report for a terminal; colour adds ANSI colours.
func (r Report) Text(colour bool, varName string) string {
	c := func(code, s string) string {
		if !colour {
			return s
		}
		return "\033[" + code + "m" + s + "\033[0m"
	}
	var b strings.Builder
	head := r.Summary()
	switch {
	case r.OK():
		b.WriteString(c("32;1", "PASS ") + head + "\n")
	case r.NotImplemented() != "":
		// the stub as shipped: nothing has failed yet, nothing to alarm about
		b.WriteString(c("34;1", "NOT ATTEMPTED YET ") + head + "\n")
	default:
		b.WriteString(c("31;1", "FAIL ") + head + "\n")
	}
	if r.NotImplemented() == "" {
		for _, x := range r.Results {
			line := "  " + symbol[x.Outcome] + " " + x.Check
			if x.Outcome != Passed {
				line = c("31", "  "+symbol[x.Outcome]+" "+x.Check) + "\n      " + outcomeLabel(x) + x.Message
			} else {
				line = c("32", "  "+symbol[x.Outcome]) + " " + x.Check
			}
			b.WriteString(line + "\n")
		}
	}
	b.WriteString("  " + r.NextStep(varName) + "\n")
	return b.String()
}

func outcomeLabel(x Result) string {
	switch x.Outcome {
	case TimedOut:
		return "timed out: "
	case Panicked, NotImplemented:
		return ""
	}
	return ""
}

// HTML renders the report for a notebook output.
func (r Report) HTML(varName string) string {
	var b strings.Builder
	colour, bg, state := "#dc2626", "#fef2f2", "failed"
	switch {
	case r.OK():
		colour, bg, state = "#16a34a", "#f0fdf4", "passed"
	case r.NotImplemented() != "":
		// the stub as shipped: a neutral note, not a red failure
		colour, bg, state = "#3b82f6", "#eff6ff", "not-attempted"
	}
	fmt.Fprintf(&b, `<div class="dsgym-report" data-state="%s" data-ok="%t" style="border-left:4px solid %s;background:%s;color:#111;padding:8px 12px;margin:4px 0;font:13px/1.5 system-ui,sans-serif">`, state, r.OK(), colour, bg)
	fmt.Fprintf(&b, `<div style="font-weight:600">%s</div>`, html.EscapeString(r.Summary()))
	if r.NotImplemented() == "" {
		b.WriteString(`<ul style="list-style:none;padding-left:4px;margin:4px 0">`)
		for _, x := range r.Results {
			col := "#16a34a"
			if x.Outcome != Passed {
				col = "#dc2626"
			}
			fmt.Fprintf(&b, `<li><span style="color:%s;font-weight:700">%s</span> %s`, col, symbol[x.Outcome], html.EscapeString(x.Check))
			if x.Outcome != Passed {
				fmt.Fprintf(&b, `<div style="margin-left:1.4em;color:#374151"><code style="white-space:pre-wrap">%s</code></div>`, html.EscapeString(outcomeLabel(x)+x.Message))
			}
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ul>`)
	}
	fmt.Fprintf(&b, `<div style="color:#374151">%s</div></div>`, html.EscapeString(r.NextStep(varName)))
	return b.String()
}

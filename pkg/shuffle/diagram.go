package shuffle

import (
	"fmt"
	"strings"
)

// Diagram draws a run's DAG as a Mermaid flowchart: one box per stage
// (its tasks, its time, its slowest task) and one arrow per shuffle with
// the bytes it moved. A broadcast, having no shuffle, is drawn dashed.
func Diagram(r *Result) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	last := map[int]Stage{}
	var order []int
	for _, s := range r.Stages {
		if _, ok := last[s.ID]; !ok {
			order = append(order, s.ID)
		}
		last[s.ID] = s
	}
	for _, id := range order {
		s := last[id]
		ok := Succeeded(s.Tasks)
		var slowest TaskMetrics
		for _, t := range ok {
			if t.Duration > slowest.Duration {
				slowest = t
			}
		}
		extra := ""
		if s.Attempt > 0 {
			extra = fmt.Sprintf("<br/>attempt %d", s.Attempt)
		}
		fmt.Fprintf(&b, "  s%d[\"stage %d: %s<br/>%d tasks, %s<br/>slowest task %s%s\"]\n",
			id, id, s.Name, len(ok), roundDur(s.Time()), roundDur(slowest.Duration), extra)
	}
	for _, e := range r.Edges {
		fmt.Fprintf(&b, "  s%d -->|\"shuffle %s\"| s%d\n", e.From, bytesText(e.Bytes), e.To)
	}
	if r.BroadcastBytes > 0 && len(order) == 2 {
		fmt.Fprintf(&b, "  s%d -.->|\"broadcast %s to every executor\"| s%d\n", order[0], bytesText(r.BroadcastBytes), order[1])
	}
	for _, sp := range r.Splits {
		fmt.Fprintf(&b, "  split%d([\"AQE: partition %d, %s, split in %d\"]) -.- s%d\n", sp.Partition, sp.Partition, bytesText(sp.Size), sp.Parts, order[len(order)-1])
	}
	return b.String()
}

func roundDur(d interface{ Seconds() float64 }) string {
	s := d.Seconds()
	switch {
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f ms", s*1000)
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

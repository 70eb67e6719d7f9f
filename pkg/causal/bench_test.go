package causal

import (
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
)

// BenchmarkCheck is the causal checker's budget: 100,000 events applied
// at three regions (300,000 applies) checked in at most 1 s.
func BenchmarkCheck(b *testing.B) {
	s := space(b)
	events := world(b, s, 1, 100_000)
	applies := deliver(s, 1, events, true)
	var secs []float64
	for b.Loop() {
		for range 5 {
			start := time.Now()
			v, err := Check(s, applies)
			if err != nil || len(v) != 0 {
				b.Fatalf("Check: %d violations, %v", len(v), err)
			}
			secs = append(secs, time.Since(start).Seconds())
		}
	}
	m, spread := budget.Spread(secs)
	b.Logf("100,000 events, %d applies: %s s", len(applies), spread)
	budget.AtMost(b, "s/100k-events", m, 1)
}

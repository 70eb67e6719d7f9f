package viz

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestEveryKindProducesAValidEChartsOption(t *testing.T) {
	charts := map[string]*Chart{
		"bar":       Bar("load", []string{"s0", "s1"}, Series{Name: "events", Values: []float64{3, 4}}),
		"line":      Line("over time", []string{"t0", "t1", "t2"}, Series{Name: "a", Values: []float64{1, 2, 3}}),
		"xy":        XY("sweep", Points{Name: "p99", X: []float64{1, 2}, Y: []float64{10, 20}}),
		"scatter":   Scatter("cloud", Points{Name: "runs", X: []float64{1, 2, 3}, Y: []float64{3, 2, 1}}),
		"histogram": Histogram("dist", []float64{1, 2, 2, 3, 9}, 4),
	}
	for name, c := range charts {
		t.Run(name+" has its data in the option JSON", func(t *testing.T) {
			opt, err := c.Sub("seed=1").Axes("x", "y").RefY("budget", 2).Option()
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(opt), &v); err != nil {
				t.Fatalf("option is not JSON: %v\n%s", err, opt)
			}
			if !strings.Contains(opt, `"seed=1"`) || !strings.Contains(opt, `"series"`) {
				t.Errorf("option lacks the subtitle or the series: %s", opt)
			}
		})
	}
}

func TestHTMLIsSelfContainedWithAPlaceholderAndLoader(t *testing.T) {
	h := Bar("Per-shard load", []string{"a"}, Series{Name: "n", Values: []float64{1}}).Sub("seed=7").HTML()
	for _, want := range []string{
		`class="dsgym-chart"`, `data-dsgym-chart="pending"`, // the element the browser test inspects
		"Per-shard load (bar chart, 1 series) — seed=7", // readable where scripts do not run
		"static/dsgym/echarts.min.js", CDNURL,           // local copy first, then the CDN
		"Could not load the chart library", // a visible note when neither loads
		"window.define=undefined",          // RequireJS pages still get the global
		"renderer:'svg'",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("chart HTML lacks %q", want)
		}
	}
	if strings.Count(h, "<script") != 1 {
		t.Errorf("want exactly one script per chart output, got %d", strings.Count(h, "<script"))
	}
}

func TestBadDataIsReportedNotDrawn(t *testing.T) {
	tests := map[string]*Chart{
		"a series shorter than its categories": Bar("x", []string{"a", "b"}, Series{Name: "s", Values: []float64{1}}),
		"points with unequal x and y":          XY("x", Points{Name: "p", X: []float64{1, 2}, Y: []float64{1}}),
		"fewer labels than points":             Scatter("x", Points{Name: "p", X: []float64{1, 2}, Y: []float64{1, 2}, Labels: []string{"a"}}),
		"a histogram with no bins":             Histogram("x", []float64{1}, 0),
		"a histogram of nothing":               Histogram("x", nil, 3),
		"a histogram of a NaN":                 Histogram("x", []float64{1, math.NaN()}, 3),
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			if c.Err() == nil {
				t.Fatal("Err() = nil")
			}
			if h := c.HTML(); !strings.Contains(h, "cannot draw chart") || strings.Contains(h, "<script") {
				t.Errorf("HTML should explain instead of drawing: %s", h)
			}
			if !strings.Contains(c.Text(), "cannot draw chart") {
				t.Errorf("Text() = %q", c.Text())
			}
		})
	}
}

func TestALabelledScatterNamesEveryPoint(t *testing.T) {
	c := Scatter("configs", Points{Name: "runs", X: []float64{1, 2}, Y: []float64{3, 4}, Labels: []string{"R=1 W=1", "R=2 W=2"}})
	opt, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"R=1 W=1"`, `"name":"R=2 W=2"`, `"formatter":"{b}"`} {
		if !strings.Contains(opt, want) {
			t.Errorf("option lacks %s: %s", want, opt)
		}
	}
	if txt := c.Text(); !strings.Contains(txt, "R=2 W=2 (2, 4)") {
		t.Errorf("Text() = %q, want every labelled point", txt)
	}
}

func TestNaNAndInfinityBecomeGaps(t *testing.T) {
	opt, err := Line("gaps", []string{"a", "b", "c"}, Series{Name: "s", Values: []float64{1, math.NaN(), math.Inf(1)}}).Option()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(opt, "NaN") || strings.Contains(opt, "Inf") {
		t.Errorf("option carries NaN/Inf, which JSON cannot: %s", opt)
	}
}

func TestHistogramCountsEveryValueOnce(t *testing.T) {
	_, counts, err := histogram([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}, 5)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total != 10 || counts[4] != 2 {
		t.Errorf("counts = %v; want 10 in all and the maximum in the last bin", counts)
	}
	// All values equal: one populated bin, no division by zero.
	if _, counts, err := histogram([]float64{5, 5, 5}, 3); err != nil || counts[0] != 3 {
		t.Errorf("equal values: %v, %v", counts, err)
	}
}

func TestTextSummarisesTheData(t *testing.T) {
	txt := Bar("Keys moved", []string{"modulo", "jump"}, Series{Name: "moved", Values: []float64{0.9, 0.09}}).Sub("n=10→11").RefY("ideal", 0.0909).Text()
	for _, want := range []string{"[chart] Keys moved (n=10→11)", "modulo", "0.09", "reference y = 0.0909 (ideal)"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Text() lacks %q:\n%s", want, txt)
		}
	}
}

func TestParamsFormatsPairs(t *testing.T) {
	if got := Params("seed", 42, "n", 16); got != "seed=42 · n=16" {
		t.Errorf("Params = %q", got)
	}
}

func ExampleBar() {
	c := Bar("Per-shard load", []string{"shard-0", "shard-1"}, Series{Name: "events/s", Values: []float64{980, 1020}}).
		Sub(Params("seed", 1, "shards", 2)).
		Axes("shard", "events/s")
	// In a notebook, c.Show() draws it; elsewhere it prints the text form:
	fmt.Print(c.Text())
	// Output:
	// [chart] Per-shard load (seed=1 · shards=2)
	// shard    events/s
	// -------  --------
	// shard-0       980
	// shard-1      1020
}

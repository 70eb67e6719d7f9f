// Package viz draws the course's charts with go-echarts so that they render
// in JupyterLab 4, in the classic notebook and exported HTML (where RequireJS
// is present), and with no network once set up.
//
// Each chart is emitted as one self-contained output: a div holding a
// readable placeholder (what viewers that run no scripts show, such as
// GitHub or an untrusted notebook), plus a script that finds ECharts
// (already loaded, else the copy that make setup serves from the Jupyter
// server's static path, else the CDN) and draws into the div. When none
// loads, the div says so. The plain-text form of the output summarises the
// data, so text-only viewers still learn something.
//
// Every chart should state its seed and parameters: pass them to
// [Chart.Sub], for example with [Params].
package viz

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"

	"github.com/dsgym/dsgym/pkg/nb"
)

// EChartsVersion is the ECharts release the charts are drawn with. It must
// match kernel-setup/assets.json, which installs the offline copy.
const EChartsVersion = "5.6.0"

// CDNURL is where the chart library is fetched from when the local copy is
// not available.
const CDNURL = "https://cdn.jsdelivr.net/npm/echarts@" + EChartsVersion + "/dist/echarts.min.js"

// Series is one named series of values over a chart's categories.
type Series struct {
	Name   string
	Values []float64
}

// Points is one named series of (x, y) points. Labels, when it has one
// entry per point, names each point on the chart (a scatter of
// configurations, say), so that points are told apart by their label
// rather than by colour.
type Points struct {
	Name   string
	X, Y   []float64
	Labels []string
}

// Kind is the type of chart.
type Kind string

// The chart kinds.
const (
	KindBar     Kind = "bar"
	KindLine    Kind = "line"
	KindXY      Kind = "xy"
	KindScatter Kind = "scatter"
)

type refLine struct {
	name string
	v    float64
	onX  bool
}

// Chart is a chart under construction. The builder methods return the chart
// so calls chain: viz.Bar(...).Sub(...).Axes(...).Show().
type Chart struct {
	kind       Kind
	title, sub string
	xName      string
	yName      string
	categories []string
	series     []Series
	points     []Points
	refs       []refLine
	height     int
	stacked    bool
	logY       bool
	yMin, yMax *float64
	err        error
}

// Bar returns a bar chart of series over categories (one bar per category
// and series).
func Bar(title string, categories []string, series ...Series) *Chart {
	c := &Chart{kind: KindBar, title: title, categories: categories, series: series}
	c.validateCategories()
	return c
}

// Line returns a line chart of series over categories.
func Line(title string, categories []string, series ...Series) *Chart {
	c := &Chart{kind: KindLine, title: title, categories: categories, series: series}
	c.validateCategories()
	return c
}

// XY returns a line chart of (x, y) series over a numeric x axis, for values
// measured against a parameter or over time.
func XY(title string, series ...Points) *Chart {
	c := &Chart{kind: KindXY, title: title, points: series}
	c.validatePoints()
	return c
}

// Scatter returns a scatter plot of (x, y) series.
func Scatter(title string, series ...Points) *Chart {
	c := &Chart{kind: KindScatter, title: title, points: series}
	c.validatePoints()
	return c
}

// Histogram returns a bar chart of how values fall into bins equal-width
// bins between their minimum and maximum.
func Histogram(title string, values []float64, bins int) *Chart {
	cats, counts, err := histogram(values, bins)
	c := Bar(title, cats, Series{Name: "count", Values: counts})
	if err != nil {
		c.err = err
	}
	c.xName, c.yName = "value", "count"
	return c
}

func histogram(values []float64, bins int) ([]string, []float64, error) {
	if bins < 1 {
		return nil, nil, fmt.Errorf("histogram needs at least 1 bin, got %d", bins)
	}
	if len(values) == 0 {
		return nil, nil, fmt.Errorf("histogram of no values")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("histogram value %v is not a finite number", v)
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	width := (hi - lo) / float64(bins)
	if width == 0 {
		width = 1
	}
	counts := make([]float64, bins)
	for _, v := range values {
		i := int((v - lo) / width)
		if i >= bins {
			i = bins - 1
		}
		counts[i]++
	}
	cats := make([]string, bins)
	for i := range cats {
		cats[i] = fmt.Sprintf("%.3g–%.3g", lo+float64(i)*width, lo+float64(i+1)*width)
	}
	return cats, counts, nil
}

func (c *Chart) validateCategories() {
	for _, s := range c.series {
		if len(s.Values) != len(c.categories) {
			c.err = fmt.Errorf("series %q has %d values for %d categories", s.Name, len(s.Values), len(c.categories))
			return
		}
	}
}

func (c *Chart) validatePoints() {
	for _, p := range c.points {
		if len(p.X) != len(p.Y) {
			c.err = fmt.Errorf("series %q has %d x values and %d y values", p.Name, len(p.X), len(p.Y))
			return
		}
		if len(p.Labels) > 0 && len(p.Labels) != len(p.X) {
			c.err = fmt.Errorf("series %q has %d points and %d labels: give every point a label, or none", p.Name, len(p.X), len(p.Labels))
			return
		}
	}
}

// Err reports a problem with the chart's data (mismatched lengths, no bins).
// [Chart.Show] displays it instead of a chart.
func (c *Chart) Err() error { return c.err }

// Sub sets the subtitle; state the seed and parameters here (see [Params]).
func (c *Chart) Sub(subtitle string) *Chart {
	c.sub = subtitle
	return c
}

// Axes names the x and y axes (include units).
func (c *Chart) Axes(x, y string) *Chart {
	c.xName, c.yName = x, y
	return c
}

// RefY draws a labelled horizontal reference line at y (a budget, an ideal).
func (c *Chart) RefY(name string, y float64) *Chart {
	c.refs = append(c.refs, refLine{name: name, v: y})
	return c
}

// RefX draws a labelled vertical reference line at x (numeric x axes only).
func (c *Chart) RefX(name string, x float64) *Chart {
	c.refs = append(c.refs, refLine{name: name, v: x, onX: true})
	return c
}

// Height sets the chart's height in pixels (default 380).
func (c *Chart) Height(px int) *Chart {
	c.height = px
	return c
}

// Stacked stacks the series (bar and line charts).
func (c *Chart) Stacked() *Chart {
	c.stacked = true
	return c
}

// LogY uses a logarithmic y axis.
func (c *Chart) LogY() *Chart {
	c.logY = true
	return c
}

// YRange fixes the y axis range.
func (c *Chart) YRange(min, max float64) *Chart {
	c.yMin, c.yMax = &min, &max
	return c
}

// Params formats key/value pairs for a subtitle: Params("seed", 42, "n", 16)
// gives "seed=42 · n=16".
func Params(kv ...any) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, fmt.Sprintf("%v=%v", kv[i], kv[i+1]))
	}
	if len(kv)%2 == 1 {
		parts = append(parts, fmt.Sprint(kv[len(kv)-1]))
	}
	return strings.Join(parts, " · ")
}

func f64(v float64) *float64 { return &v }

// Option returns the ECharts option object for the chart, as JSON.
func (c *Chart) Option() (string, error) {
	if c.err != nil {
		return "", c.err
	}
	r, err := c.echarts()
	if err != nil {
		return "", err
	}
	return optionJSON(r), nil
}

func optionJSON(r render.Renderer) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(r.RenderSnippet().Option), ";"))
}

func (c *Chart) echarts() (render.Renderer, error) {
	global := []charts.GlobalOpts{
		charts.WithTitleOpts(opts.Title{Title: c.title, Subtitle: c.sub, Left: "center"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(c.seriesCount() > 1), Top: "bottom", Type: "scroll"}),
		charts.WithGridOpts(opts.Grid{Top: "72", Bottom: "78", Left: "72", Right: "40", ContainLabel: opts.Bool(true)}),
		charts.WithAnimation(false),
		charts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(true), Right: "8", Feature: &opts.ToolBoxFeature{
			SaveAsImage: &opts.ToolBoxFeatureSaveAsImage{Show: opts.Bool(true), Title: "save", Type: "svg"},
			DataView:    &opts.ToolBoxFeatureDataView{Show: opts.Bool(true), Title: "data", Lang: []string{"data", "close", "refresh"}},
		}}),
	}
	// The y axis name runs along the axis (ECharts turns it upright when it
	// sits in the middle), so long names with units are not clipped.
	yAxis := opts.YAxis{Name: c.yName, Type: "value", Scale: opts.Bool(c.yMin == nil), NameLocation: "middle", NameGap: 56}
	if c.logY {
		yAxis.Type = "log"
	}
	if c.yMin != nil {
		yAxis.Min, yAxis.Max = *c.yMin, *c.yMax
	}
	global = append(global, charts.WithYAxisOpts(yAxis))

	marks := func(forX bool) []charts.SeriesOpts {
		var out []charts.SeriesOpts
		for _, r := range c.refs {
			if r.onX != forX {
				continue
			}
			if r.onX {
				out = append(out, charts.WithMarkLineNameXAxisItemOpts(opts.MarkLineNameXAxisItem{Name: r.name, XAxis: r.v}))
			} else {
				out = append(out, charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: r.name, YAxis: r.v}))
			}
		}
		if len(out) > 0 {
			out = append(out, charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
				Symbol: []string{"none", "none"},
				Label:  &opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "insideEndTop"},
			}))
		}
		return out
	}
	stack := func() []charts.SeriesOpts {
		if !c.stacked {
			return nil
		}
		if c.kind == KindBar {
			return []charts.SeriesOpts{charts.WithBarChartOpts(opts.BarChart{Stack: "total"})}
		}
		return []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{Stack: "total"})}
	}

	switch c.kind {
	case KindBar:
		b := charts.NewBar()
		b.SetGlobalOptions(append(global, charts.WithXAxisOpts(opts.XAxis{Name: c.xName, Type: "category", NameLocation: "middle", NameGap: 28}))...)
		b.SetXAxis(c.categories)
		for i, s := range c.series {
			data := make([]opts.BarData, len(s.Values))
			for j, v := range s.Values {
				data[j] = opts.BarData{Value: clean(v)}
			}
			so := stack()
			if i == 0 {
				so = append(so, marks(false)...)
			}
			b.AddSeries(s.Name, data, so...)
		}
		return b, nil
	case KindLine:
		l := charts.NewLine()
		l.SetGlobalOptions(append(global, charts.WithXAxisOpts(opts.XAxis{Name: c.xName, Type: "category", BoundaryGap: opts.Bool(false), NameLocation: "middle", NameGap: 28}))...)
		l.SetXAxis(c.categories)
		for i, s := range c.series {
			data := make([]opts.LineData, len(s.Values))
			for j, v := range s.Values {
				data[j] = opts.LineData{Value: clean(v)}
			}
			so := stack()
			if i == 0 {
				so = append(so, marks(false)...)
			}
			l.AddSeries(s.Name, data, so...)
		}
		return l, nil
	case KindXY:
		l := charts.NewLine()
		l.SetGlobalOptions(append(global, charts.WithXAxisOpts(opts.XAxis{Name: c.xName, Type: "value", Scale: opts.Bool(true), NameLocation: "middle", NameGap: 28}))...)
		for i, p := range c.points {
			data := make([]opts.LineData, len(p.X))
			for j := range p.X {
				data[j] = opts.LineData{Value: []any{clean(p.X[j]), clean(p.Y[j])}}
			}
			so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(len(p.X) <= 40)})}
			if i == 0 {
				so = append(so, marks(false)...)
				so = append(so, marks(true)...)
			}
			l.AddSeries(p.Name, data, so...)
		}
		return l, nil
	case KindScatter:
		s := charts.NewScatter()
		s.SetGlobalOptions(append(global,
			charts.WithXAxisOpts(opts.XAxis{Name: c.xName, Type: "value", Scale: opts.Bool(true), NameLocation: "middle", NameGap: 28}),
			charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}))...)
		for i, p := range c.points {
			data := make([]opts.ScatterData, len(p.X))
			labelled := len(p.Labels) == len(p.X)
			for j := range p.X {
				data[j] = opts.ScatterData{Value: []any{clean(p.X[j]), clean(p.Y[j])}}
				if labelled {
					data[j].Name = p.Labels[j]
				}
			}
			var so []charts.SeriesOpts
			if labelled {
				so = append(so, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "right"}))
			}
			if i == 0 {
				so = append(so, marks(false)...)
				so = append(so, marks(true)...)
			}
			s.AddSeries(p.Name, data, so...)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown chart kind %q", c.kind)
}

// clean maps NaN and ±Inf to nil (a gap), which JSON cannot carry.
func clean(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func (c *Chart) seriesCount() int { return len(c.series) + len(c.points) }

// HTML returns the chart as one self-contained HTML fragment.
func (c *Chart) HTML() string {
	option, err := c.Option()
	if err != nil {
		return nb.NoteHTML(nb.Failure, html.EscapeString("cannot draw chart "+quote(c.title)+": "+err.Error()))
	}
	h := c.height
	if h <= 0 {
		h = 380
	}
	return Embed(option, h, c.placeholder())
}

func quote(s string) string { return "“" + s + "”" }

func (c *Chart) placeholder() string {
	what := map[Kind]string{KindBar: "bar chart", KindLine: "line chart", KindXY: "line chart", KindScatter: "scatter plot"}[c.kind]
	desc := fmt.Sprintf("%s (%s", c.title, what)
	if n := c.seriesCount(); n > 0 {
		desc += fmt.Sprintf(", %d series", n)
	}
	desc += ")"
	if c.sub != "" {
		desc += " — " + c.sub
	}
	return desc
}

// Text returns a plain-text summary of the chart's data.
func (c *Chart) Text() string {
	if c.err != nil {
		return "cannot draw chart " + quote(c.title) + ": " + c.err.Error()
	}
	var b strings.Builder
	b.WriteString("[chart] " + c.title)
	if c.sub != "" {
		b.WriteString(" (" + c.sub + ")")
	}
	b.WriteString("\n")
	switch c.kind {
	case KindBar, KindLine:
		t := nb.NewTable(append([]string{c.xName}, names(c.series)...)...)
		for i, cat := range c.categories {
			if i == 12 && len(c.categories) > 14 {
				t.Row(fmt.Sprintf("… %d more", len(c.categories)-12))
				break
			}
			row := []any{cat}
			for _, s := range c.series {
				row = append(row, s.Values[i])
			}
			t.Row(row...)
		}
		b.WriteString(t.Text())
	default:
		for _, p := range c.points {
			fmt.Fprintf(&b, "%s: %d points", p.Name, len(p.X))
			if len(p.X) > 0 {
				fmt.Fprintf(&b, ", x %.4g..%.4g, y %.4g..%.4g", minOf(p.X), maxOf(p.X), minOf(p.Y), maxOf(p.Y))
			}
			if len(p.Labels) == len(p.X) {
				for j, l := range p.Labels {
					fmt.Fprintf(&b, "; %s (%.4g, %.4g)", l, p.X[j], p.Y[j])
				}
			}
			b.WriteString("\n")
		}
	}
	for _, r := range c.refs {
		axis := "y"
		if r.onX {
			axis = "x"
		}
		fmt.Fprintf(&b, "reference %s = %.4g (%s)\n", axis, r.v, r.name)
	}
	return b.String()
}

func names(ss []Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// Show displays the chart: in a notebook as the HTML output (with the text
// summary as its plain-text form), elsewhere as the text summary.
func (c *Chart) Show() {
	nb.Show(c.HTML(), c.Text())
}

// ShowECharts displays any go-echarts chart (for kinds this package has no
// helper for) with the same loader and placeholder. summary is the
// placeholder and plain-text form.
func ShowECharts(chart render.Renderer, height int, summary string) {
	if height <= 0 {
		height = 380
	}
	nb.Show(Embed(optionJSON(chart), height, summary), "[chart] "+summary)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "dsgym-chart-" + hex.EncodeToString(b[:])
}

// Embed returns the self-contained HTML for an ECharts option (a JavaScript
// object literal), drawn into a div of the given height, with placeholder as
// the text shown where scripts do not run.
func Embed(option string, height int, placeholder string) string {
	id := newID()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<div class="dsgym-chart" id="%s" data-dsgym-chart="pending" style="width:100%%;max-width:960px;height:%dpx;position:relative">`, id, height)
	fmt.Fprintf(&b, `<div class="dsgym-chart-placeholder" style="padding:12px;color:#555;font:13px system-ui,sans-serif;border:1px dashed #bbb;height:100%%;box-sizing:border-box">📊 %s<br><small>The chart draws when this cell runs in JupyterLab (or the notebook is trusted). Its data is in the text form of this output.</small></div>`, html.EscapeString(placeholder))
	b.WriteString(`</div>`)
	fmt.Fprintf(&b, "<script type=\"text/javascript\">\n%s\n(function(){var el=document.getElementById(%s);if(!el){var s=document.currentScript;el=s&&s.parentNode&&s.parentNode.querySelector('#'+%s);}window.dsgymDrawChart(el||%s,%s);})();\n</script>",
		loaderJS, jsString(id), jsString(id), jsString(id), option)
	return b.String()
}

func jsString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// loaderJS defines window.dsgymLoadECharts (one shared promise per page) and
// window.dsgymDrawChart. The library comes from, in order: a global already
// on the page (an exported page inlines it), the Jupyter server's static
// path (JupyterLab and Notebook 7 give the base URL in jupyter-config-data,
// the classic notebook in body[data-base-url]), then the CDN. RequireJS's
// define is hidden while the library loads, so its UMD wrapper sets the
// global instead of registering an anonymous module.
//
// window.dsgymDrawChart. It is repeated in every chart output on purpose:
// each output must work alone (outputs render in any order, and a reopened
// notebook may show only some of them).
var loaderJS = strings.NewReplacer("\n", "\n", "CDN_URL", jsString(CDNURL)).Replace(`if(!window.dsgymDrawChart){
window.dsgymLoadECharts=function(){
  if(window.echarts&&window.echarts.init){return Promise.resolve(window.echarts);}
  if(window.__dsgymECharts){return window.__dsgymECharts;}
  var sources=[];
  try{var base=null,cfg=document.getElementById('jupyter-config-data');
    if(cfg){base=JSON.parse(cfg.textContent).baseUrl||'/';}
    else if(document.body&&document.body.getAttribute('data-base-url')){base=document.body.getAttribute('data-base-url');}
    if(base!==null){if(base.slice(-1)!=='/'){base+='/';}sources.push(base+'static/dsgym/echarts.min.js');}}catch(e){}
  sources.push(CDN_URL);
  var p=new Promise(function(resolve,reject){
    var tried=[];
    function next(i){
      if(window.echarts&&window.echarts.init){resolve(window.echarts);return;}
      if(i>=sources.length){reject(new Error('tried '+tried.join(', ')));return;}
      tried.push(sources[i]);
      var s=document.createElement('script');s.src=sources[i];s.async=true;
      var amd=window.define;try{window.define=undefined;}catch(e){}
      var done=function(ok){try{window.define=amd;}catch(e){} if(ok&&window.echarts&&window.echarts.init){resolve(window.echarts);}else{next(i+1);}};
      s.onload=function(){done(true);};s.onerror=function(){done(false);};
      document.head.appendChild(s);
    }
    next(0);
  });
  window.__dsgymECharts=p.catch(function(err){window.__dsgymECharts=null;throw err;});
  return window.__dsgymECharts;
};
window.dsgymDrawChart=function(el,option){
  if(typeof el==='string'){var id=el;el=null;var tries=0;var find=function(){el=document.getElementById(id);if(el){window.dsgymDrawChart(el,option);}else if(tries++<200){setTimeout(find,50);}};find();return;}
  window.dsgymLoadECharts().then(function(echarts){
    var draw=function(){
      if(!el.isConnected||el.clientWidth===0){setTimeout(draw,50);return;}
      el.innerHTML='';
      var chart=echarts.init(el,null,{renderer:'svg'});
      chart.setOption(option);
      el.setAttribute('data-dsgym-chart','drawn');
      if(window.ResizeObserver){new ResizeObserver(function(){chart.resize();}).observe(el);}
    };
    draw();
  }).catch(function(err){
    el.setAttribute('data-dsgym-chart','failed');
    el.style.height='auto';
    el.innerHTML='<div class="dsgym-chart-error" style="padding:10px;border-left:4px solid #dc2626;background:#fef2f2;color:#111;font:13px system-ui,sans-serif">Could not load the chart library (ECharts) from this Jupyter server or the CDN ('+String(err.message||err).replace(/</g,'&lt;')+'). Run <code>make setup</code> to install the offline copy, then run this cell again. The data is in the text form of this output.</div>';
  });
};
}`)

// SortedKeys returns m's keys in increasing order, a helper for building
// category axes from maps deterministically.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

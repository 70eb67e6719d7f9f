package shuffle

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Cause is one root cause of slow tasks, from the interview's checklist.
type Cause string

// The causes Diagnose weighs.
const (
	DataSkew      Cause = "data skew"
	StragglerHost Cause = "straggler host"
	GCPressure    Cause = "GC / memory pressure"
	Spill         Cause = "spill to disk"
	FetchHotspot  Cause = "network / fetch hotspot"
	Locality      Cause = "poor locality"
)

// Finding is one cause with how strongly the metrics point at it (Score
// in [0, 1]) and the numbers that say so.
type Finding struct {
	Cause    Cause
	Score    float64
	Evidence string
	// Host is the host the finding blames, when it blames one.
	Host string
}

// Diagnosis is the ranked causes of one stage's slow tasks.
type Diagnosis struct {
	Tasks int
	// Median, P99 and Max task duration; TailRatio is P99 / Median.
	Median, P99, Max time.Duration
	TailRatio        float64
	// Slow is how many tasks took more than twice the median.
	Slow int
	// Findings, strongest first.
	Findings []Finding
}

// Top returns the strongest finding.
func (d Diagnosis) Top() Finding {
	if len(d.Findings) == 0 {
		return Finding{}
	}
	return d.Findings[0]
}

// ErrNoTasks is returned for a stage without successful tasks.
var ErrNoTasks = errors.New("diagnose: no successful tasks to look at")

// Diagnose ranks the causes of a stage's slow tasks from their metrics:
// the successful attempts of one stage, simulated or read from a real
// Spark's REST API. A task is slow when it took more than twice the median
// duration (or, when none did, the slowest tenth). Each cause compares the
// slow tasks with the others:
//
//   - data skew: the slow tasks read more records than the median task
//     (on average: one hot partition among noisy tasks counts), weighted
//     by how well records rank with duration (Spearman's rho);
//   - straggler host: one host takes longer per record than the others,
//     and the slow tasks ran there;
//   - GC: the slow tasks spend a larger share of their time in GC;
//   - spill: the slow tasks spilled and the others did not;
//   - fetch hotspot: the slow tasks spent a larger share waiting for
//     shuffle blocks;
//   - locality: the slow tasks ran further from their data (ANY, RACK_LOCAL).
func Diagnose(tasks []TaskMetrics) (Diagnosis, error) {
	ts := Succeeded(tasks)
	if len(ts) == 0 {
		return Diagnosis{}, ErrNoTasks
	}
	sp := SpreadOf(ts)
	d := Diagnosis{Tasks: len(ts), Median: sp.Median, P99: sp.P99, Max: sp.Max, TailRatio: sp.Tail()}
	var slow, rest []TaskMetrics
	for _, t := range ts {
		if t.Duration > 2*d.Median {
			slow = append(slow, t)
		} else {
			rest = append(rest, t)
		}
	}
	if len(slow) == 0 {
		cut := sp.P90
		slow, rest = nil, nil
		for _, t := range ts {
			if t.Duration >= cut && t.Duration > d.Median {
				slow = append(slow, t)
			} else {
				rest = append(rest, t)
			}
		}
	}
	d.Slow = len(slow)
	if len(slow) == 0 || len(rest) == 0 {
		d.Findings = []Finding{{Cause: "none", Evidence: "every task took about the same time: no tail to explain"}}
		return d, nil
	}
	d.Findings = []Finding{
		skewFinding(ts, slow),
		hostFinding(ts, slow),
		shareFinding(GCPressure, slow, rest, func(t TaskMetrics) time.Duration { return t.GCTime }, 0.2, "in GC"),
		spillFinding(slow, rest),
		shareFinding(FetchHotspot, slow, rest, func(t TaskMetrics) time.Duration { return t.FetchWait }, 0.3, "waiting for shuffle blocks"),
		localityFinding(slow, rest),
	}
	sort.SliceStable(d.Findings, func(i, j int) bool { return d.Findings[i].Score > d.Findings[j].Score })
	return d, nil
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return max(0, min(1, x))
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func skewFinding(all, slow []TaskMetrics) Finding {
	recs := make([]float64, len(all))
	dur := make([]float64, len(all))
	for i, t := range all {
		recs[i], dur[i] = float64(t.Records()), float64(t.Duration)
	}
	med := max(medianOf(recs), 1)
	// The mean, not the median, of the slow tasks' record ratios: one hot
	// partition among several tasks slowed by noise (a real cluster's
	// JIT warm-up, a busy disk) still shows.
	var sum float64
	for _, t := range slow {
		sum += float64(t.Records()) / med
	}
	r := sum / float64(len(slow))
	rho := Spearman(recs, dur)
	f := Finding{Cause: DataSkew, Score: clamp01((r-1)/2) * (0.5 + 0.5*clamp01(rho))}
	f.Evidence = fmt.Sprintf("the slow tasks read %.1fx the median task's records on average; records and duration rank together (Spearman rho %.2f)", r, rho)
	return f
}

func hostFinding(all, slow []TaskMetrics) Finding {
	per := map[string][]float64{}
	var everyone []float64
	for _, t := range all {
		// CPU and disk time only: GC and fetch waits have findings of their own.
		own := t.RunTime - t.GCTime - t.FetchWait - t.DeserializeTime
		v := float64(max(own, 0)) / float64(max(t.Records(), 1))
		per[t.Host] = append(per[t.Host], v)
		everyone = append(everyone, v)
	}
	f := Finding{Cause: StragglerHost}
	if len(per) < 2 {
		f.Evidence = fmt.Sprintf("all tasks ran on one host (%d hosts): a straggler host cannot be told apart", len(per))
		return f
	}
	overall := max(medianOf(everyone), 1e-12)
	worst, worstRatio := "", 0.0
	for h, vs := range per {
		if r := medianOf(vs) / overall; r > worstRatio || (r == worstRatio && h < worst) {
			worst, worstRatio = h, r
		}
	}
	on := 0
	for _, t := range slow {
		if t.Host == worst {
			on++
		}
	}
	frac := float64(on) / float64(len(slow))
	f.Host = worst
	f.Score = clamp01((worstRatio-1)/2) * frac
	f.Evidence = fmt.Sprintf("%s takes %.1fx the median compute time per record (GC and fetch waits left out); %d of the %d slow tasks ran there", worst, worstRatio, on, len(slow))
	return f
}

func share(ts []TaskMetrics, part func(TaskMetrics) time.Duration) float64 {
	var p, all time.Duration
	for _, t := range ts {
		p += part(t)
		all += t.Duration
	}
	if all == 0 {
		return 0
	}
	return float64(p) / float64(all)
}

func shareFinding(c Cause, slow, rest []TaskMetrics, part func(TaskMetrics) time.Duration, full float64, what string) Finding {
	s, r := share(slow, part), share(rest, part)
	return Finding{Cause: c, Score: clamp01((s - r) / full),
		Evidence: fmt.Sprintf("the slow tasks spend %.0f%% of their time %s, the others %.0f%%", 100*s, what, 100*r)}
}

func spillFinding(slow, rest []TaskMetrics) Finding {
	frac := func(ts []TaskMetrics) float64 {
		n := 0
		for _, t := range ts {
			if t.DiskSpilled > 0 {
				n++
			}
		}
		return float64(n) / float64(len(ts))
	}
	s, r := frac(slow), frac(rest)
	var bytes int64
	for _, t := range slow {
		bytes += t.DiskSpilled
	}
	return Finding{Cause: Spill, Score: clamp01(s-r) * 0.9,
		Evidence: fmt.Sprintf("%.0f%% of the slow tasks spilled (%d MB to disk), %.0f%% of the others", 100*s, bytes/MB, 100*r)}
}

func localityFinding(slow, rest []TaskMetrics) Finding {
	isFar := func(t TaskMetrics) bool { return t.Locality == "ANY" || t.Locality == "RACK_LOCAL" }
	var farSlow int
	for _, t := range slow {
		if isFar(t) {
			farSlow++
		}
	}
	var far, near []float64
	for _, ts := range [][]TaskMetrics{slow, rest} {
		for _, t := range ts {
			if isFar(t) {
				far = append(far, float64(t.Duration))
			} else {
				near = append(near, float64(t.Duration))
			}
		}
	}
	f := Finding{Cause: Locality}
	frac := float64(farSlow) / float64(len(slow))
	if len(far) == 0 || len(near) == 0 {
		f.Evidence = fmt.Sprintf("%.0f%% of the slow tasks ran away from their data (ANY or RACK_LOCAL): no local and remote tasks to compare", 100*frac)
		return f
	}
	r := medianOf(far) / max(medianOf(near), 1)
	f.Score = clamp01(r-1) * frac
	f.Evidence = fmt.Sprintf("tasks away from their data (ANY or RACK_LOCAL) take %.1fx as long as local ones; %d of the %d slow tasks ran away from their data", r, farSlow, len(slow))
	return f
}

// Spearman is the rank correlation of xs and ys (ties get their mean
// rank): 1 when ys grows with xs, 0 when unrelated, NaN for fewer than two
// points or a constant series.
func Spearman(xs, ys []float64) float64 {
	if len(xs) != len(ys) || len(xs) < 2 {
		return math.NaN()
	}
	rx, ry := ranks(xs), ranks(ys)
	var mx, my float64
	for i := range rx {
		mx += rx[i]
		my += ry[i]
	}
	mx /= float64(len(rx))
	my /= float64(len(ry))
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(xs []float64) []float64 {
	idx := seq(len(xs))
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

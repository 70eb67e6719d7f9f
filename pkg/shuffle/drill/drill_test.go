package drill

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/shuffle"
	"github.com/dsgym/dsgym/pkg/shuffle/step"
	ref "github.com/dsgym/dsgym/solutions/shuffle"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("shuffle/salt", func(t *testing.T) { SaltedSum.Passes(t, ref.SaltedSum) })
	t.Run("shuffle/skewsplit", func(t *testing.T) { SkewSplits.Passes(t, ref.SkewSplits) })
	t.Run("shuffle/speculate", func(t *testing.T) { Speculatable.Passes(t, ref.Speculatable) })
}

func TestSaltChecksCatchKnownBadAggregations(t *testing.T) {
	sums := SaltedSum.Checks[0].Name
	merged := SaltedSum.Checks[1].Name
	spread := SaltedSum.Checks[2].Name
	for _, c := range []struct {
		name   string
		bad    SaltFunc
		checks []string
	}{
		{"salts but never merges: the result is keyed by salted keys", func(rows []step.Row, salts, parts int) (step.Salted, error) {
			out, err := ref.SaltedSum(rows, salts, parts)
			if err != nil {
				return out, err
			}
			out.Sums = map[string]int64{}
			for i, r := range rows {
				out.Sums[step.SaltedKey(r.Key, i%salts)] += r.Value
			}
			return out, nil
		}, []string{sums, merged}},
		{"salts by a hash of the key: every row of a key gets the same salt, nothing spreads", func(rows []step.Row, salts, parts int) (step.Salted, error) {
			out, err := ref.SaltedSum(rows, salts, parts)
			if err != nil {
				return out, err
			}
			out.Load = make([]int, parts)
			for _, r := range rows {
				out.Load[step.Partition(step.SaltedKey(r.Key, step.Partition(r.Key, salts)), parts)]++
			}
			return out, nil
		}, []string{spread}},
		{"merges by keeping the last partial sum instead of adding them", func(rows []step.Row, salts, parts int) (step.Salted, error) {
			out, err := ref.SaltedSum(rows, salts, parts)
			if err != nil {
				return out, err
			}
			partial := map[[2]any]int64{}
			for i, r := range rows {
				partial[[2]any{r.Key, i % salts}] += r.Value
			}
			out.Sums = map[string]int64{}
			for k, v := range partial {
				out.Sums[k[0].(string)] = v
			}
			return out, nil
		}, []string{sums, merged}},
	} {
		t.Run(c.name, func(t *testing.T) { SaltedSum.Catches(t, c.name, c.bad, c.checks...) })
	}
}

// skewWith is the reference rule with one part changed.
func skewWith(threshold func(sizes []int64, a shuffle.AQE) int64, target func(sizes []int64, th int64, a shuffle.AQE) int64) SkewSplitFunc {
	return func(blocks [][]int64, a shuffle.AQE) ([]int, error) {
		if _, err := ref.SkewSplits(blocks, a); err != nil {
			return nil, err
		}
		sizes := sizesOf(blocks)
		th := threshold(sizes, a)
		tg := target(sizes, th, a)
		out := make([]int, len(blocks))
		for p := range blocks {
			out[p] = 1
			if sizes[p] > th {
				out[p] = len(shuffle.SplitBySize(blocks[p], tg))
			}
		}
		return out, nil
	}
}

func refThreshold(sizes []int64, a shuffle.AQE) int64       { return a.SkewThreshold(sizes) }
func refTarget(sizes []int64, _ int64, a shuffle.AQE) int64 { return a.SplitTarget(sizes) }

func TestSkewSplitChecksCatchKnownBadRules(t *testing.T) {
	random := SkewSplits.Checks[6].Name
	for _, c := range []struct {
		name   string
		bad    SkewSplitFunc
		checks []string
	}{
		{"the factor rule without the threshold", skewWith(func(sizes []int64, a shuffle.AQE) int64 {
			return int64(a.SkewedPartitionFactor * float64(shuffle.Median(sizes)))
		}, refTarget), []string{"above 5 x the median but under the threshold: not skewed", random}},
		{"the threshold without the factor", skewWith(func(_ []int64, a shuffle.AQE) int64 { return a.SkewedPartitionThreshold }, refTarget),
			[]string{"above the threshold but under 5 x the median: not skewed (every partition is large)", random}},
		{"splits to the advisory size only, ignoring the mean of the non-skewed", skewWith(refThreshold, func(_ []int64, _ int64, a shuffle.AQE) int64 { return a.AdvisoryPartitionSize }),
			[]string{"the target is the mean of the non-skewed partitions when that beats the advisory size", random}},
		{">= instead of >: a partition at the threshold splits", func(blocks [][]int64, a shuffle.AQE) ([]int, error) {
			out, err := ref.SkewSplits(blocks, a)
			if err != nil {
				return nil, err
			}
			sizes := sizesOf(blocks)
			th := a.SkewThreshold(sizes)
			for p := range out {
				if sizes[p] == th {
					out[p] = len(shuffle.SplitBySize(blocks[p], a.SplitTarget(sizes)))
				}
			}
			return out, nil
		}, []string{"exactly at the threshold is not above it"}},
		{"the mean instead of the median", skewWith(func(sizes []int64, a shuffle.AQE) int64 {
			var sum int64
			for _, s := range sizes {
				sum += s
			}
			return max(a.SkewedPartitionThreshold, int64(a.SkewedPartitionFactor*float64(sum/int64(len(sizes)))))
		}, refTarget), []string{random}},
	} {
		t.Run(c.name, func(t *testing.T) { SkewSplits.Catches(t, c.name, c.bad, c.checks...) })
	}
}

func TestSpeculateChecksCatchKnownBadRules(t *testing.T) {
	random := Speculatable.Checks[len(Speculatable.Checks)-1].Name
	// rule is the reference with a different "enough done" test, centre
	// and floor.
	rule := func(enough func(done, n int, q float64) bool, centre func([]time.Duration) time.Duration, floor bool, efficiency bool) SpeculateFunc {
		return func(ts []shuffle.TaskState, s shuffle.Speculation) []int {
			if !s.Enabled {
				return nil
			}
			var done []time.Duration
			var recs int64
			var took time.Duration
			for _, t := range ts {
				if t.Done {
					done = append(done, t.Duration)
					recs += t.Records
					took += t.Duration
				}
			}
			if len(done) == 0 || !enough(len(done), len(ts), s.Quantile) {
				return nil
			}
			th := time.Duration(s.Multiplier * float64(centre(done)))
			if floor {
				th = max(th, s.MinRuntime)
			}
			var out []int
			for _, t := range ts {
				if t.Done || !t.Running || t.Copied || t.Runtime <= th {
					continue
				}
				if efficiency && s.Efficiency && took > 0 {
					avg := float64(recs) / took.Seconds()
					if float64(t.Records)/t.Runtime.Seconds() >= s.ProcessRateMultiplier*avg && float64(t.Runtime) <= s.LongRunTaskFactor*float64(th) {
						continue
					}
				}
				out = append(out, t.Index)
			}
			return out
		}
	}
	quantile := func(done, n int, q float64) bool { return done >= int(math.Floor(q*float64(n))) }
	median := func(d []time.Duration) time.Duration { s := slices.Clone(d); slices.Sort(s); return s[len(s)/2] }
	mean := func(d []time.Duration) time.Duration {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return sum / time.Duration(len(d))
	}
	for _, c := range []struct {
		name   string
		bad    SpeculateFunc
		checks []string
	}{
		{"speculates before the quantile is reached", rule(func(int, int, float64) bool { return true }, median, true, true),
			[]string{"nothing before the quantile of tasks has finished: 8 of 10 done is under 0.9", random}},
		{"the mean of finished durations instead of the median", rule(quantile, mean, true, true),
			[]string{"the median, not the mean: one very slow finished task does not raise the threshold", random}},
		{"no minTaskRuntime floor", rule(quantile, median, false, true),
			[]string{"never under minTaskRuntime: tasks of 10 ms are not copied at 40 ms", random}},
		{"ignores the efficiency check", rule(quantile, median, true, false),
			[]string{"with efficiency, a slow task with a normal record rate (more data) waits for 2 x the threshold", random}},
	} {
		t.Run(c.name, func(t *testing.T) { Speculatable.Catches(t, c.name, c.bad, c.checks...) })
	}
}

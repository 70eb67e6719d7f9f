package drill

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shuffle"
	"github.com/dsgym/dsgym/pkg/shuffle/step"
	ref "github.com/dsgym/dsgym/solutions/shuffle"
)

// SpeculateFunc is Speculatable's signature.
type SpeculateFunc = step.SpeculateFunc

const ms = time.Millisecond

// tasks builds a stage: done tasks with the given durations (1,000
// records each, so a rate of 1,000 per duration), then running tasks as
// (runtime, records so far).
func tasks(done []time.Duration, running ...[2]int64) []shuffle.TaskState {
	var ts []shuffle.TaskState
	for _, d := range done {
		ts = append(ts, shuffle.TaskState{Index: len(ts), Done: true, Duration: d, Records: 1000})
	}
	for _, r := range running {
		ts = append(ts, shuffle.TaskState{Index: len(ts), Running: true, Runtime: time.Duration(r[0]) * ms, Records: r[1]})
	}
	return ts
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func specCase(name string, hint int, ts []shuffle.TaskState, s shuffle.Speculation, want []int) exercise.Check[SpeculateFunc] {
	return exercise.Check[SpeculateFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f SpeculateFunc) {
		if got := f(ts, s); !slices.Equal(got, want) {
			t.Errorf("Speculatable = %v; want %v (quantile %v, multiplier %v, efficiency %v)", got, want, s.Quantile, s.Multiplier, s.Efficiency)
		}
	}}
}

func noEfficiency() shuffle.Speculation {
	s := shuffle.DefaultSpeculation()
	s.Efficiency = false
	return s
}

// logMS draws a duration between 1 ms and max ms, log-uniformly: tiny
// stages (under minTaskRuntime) as often as long ones.
func logMS(r *rand.Rand, max float64) time.Duration {
	return time.Duration(math.Exp(r.Float64()*math.Log(max)) * float64(ms))
}

// randomStage draws a stage of up to 30 tasks, some done, some running,
// some copied, from r.
func randomStage(r *rand.Rand) []shuffle.TaskState {
	n := 1 + r.IntN(30)
	ts := make([]shuffle.TaskState, n)
	for i := range ts {
		ts[i].Index = i
		switch r.IntN(3) {
		case 0, 1:
			ts[i].Done = true
			ts[i].Duration = logMS(r, 5000)
			ts[i].Records = int64(r.IntN(10000))
		default:
			ts[i].Running = true
			ts[i].Runtime = logMS(r, 20000)
			ts[i].Records = int64(r.IntN(10000))
			ts[i].Copied = r.IntN(5) == 0
		}
	}
	return ts
}

// Speculatable is exercise shuffle/speculate.
var Speculatable = exercise.Register(&exercise.Exercise[SpeculateFunc]{
	ID:       "shuffle/speculate",
	Title:    "Which tasks get a speculative copy?",
	Task:     "at one of the scheduler's checks, return the running tasks that Spark copies, from the stage's tasks and the spark.speculation settings",
	Func:     "Speculatable",
	Notebook: notebook,
	Hints: [3]string{
		"Spark compares a running task with the tasks already done: until enough are done (spark.speculation.quantile, 0.9 in Spark 4) it does nothing. Then a task is slow when it has run longer than multiplier (3) times the median finished duration, and never under minTaskRuntime (100 ms).",
		"need := int(math.Floor(s.Quantile * float64(len(tasks)))); no check until at least max(need, 1) tasks are Done. Sort the done durations: median := done[len(done)/2]. threshold := max(time.Duration(s.Multiplier * float64(median)), s.MinRuntime). Skip tasks that are Done, not Running or already Copied.",
		"With s.Efficiency, a task past the threshold is copied only if its rate Records/Runtime.Seconds() is below s.ProcessRateMultiplier x (sum of done Records / sum of done Durations in seconds), or its Runtime exceeds s.LongRunTaskFactor x threshold. A task with more data works at a normal rate: a copy would be just as slow.",
	},
	Reference: ref.Speculatable,
	Probe:     func(f SpeculateFunc) { _ = f(nil, shuffle.DefaultSpeculation()) },
	Checks: []exercise.Check[SpeculateFunc]{
		specCase("nothing before the quantile of tasks has finished: 8 of 10 done is under 0.9", 1,
			tasks(repeat(time.Second, 8), [2]int64{60_000, 10}, [2]int64{60_000, 10}), noEfficiency(), nil),
		specCase("a task past 3 x the median is copied once 9 of 10 are done", 1,
			tasks(repeat(time.Second, 9), [2]int64{3100, 10}), noEfficiency(), []int{9}),
		specCase("not before 3 x the median", 1,
			tasks(repeat(time.Second, 9), [2]int64{2900, 10}), noEfficiency(), nil),
		specCase("the median, not the mean: one very slow finished task does not raise the threshold", 2,
			tasks(append(repeat(time.Second, 8), 60*time.Second), [2]int64{3500, 10}), noEfficiency(), []int{9}),
		specCase("never under minTaskRuntime: tasks of 10 ms are not copied at 40 ms", 2,
			tasks(repeat(10*ms, 9), [2]int64{40, 1}), noEfficiency(), nil),
		specCase("a task already copied is not copied again", 2,
			append(tasks(repeat(time.Second, 9)), shuffle.TaskState{Index: 9, Running: true, Runtime: 10 * time.Second, Copied: true}), noEfficiency(), nil),
		specCase("with efficiency, a slow task with a normal record rate (more data) waits for 2 x the threshold", 3,
			tasks(repeat(time.Second, 18), [2]int64{5000, 5000}, [2]int64{7000, 7000}), shuffle.DefaultSpeculation(), []int{19}),
		specCase("with efficiency, a task with a low record rate (a slow host) is copied past the threshold", 3,
			tasks(repeat(time.Second, 18), [2]int64{3500, 500}, [2]int64{500, 500}), shuffle.DefaultSpeculation(), []int{18}),
		specCase("speculation off: nothing", 1,
			tasks(repeat(time.Second, 9), [2]int64{60_000, 1}), shuffle.Speculation{Quantile: 0.9, Multiplier: 3}, nil),
		{Name: "the same answers as Spark's rule on 500 random stages", Hint: 3, Run: func(t exercise.T, f SpeculateFunc) {
			r := rand.New(rand.NewPCG(5, 27))
			for i := range 500 {
				ts := randomStage(r)
				s := shuffle.DefaultSpeculation()
				s.Quantile, s.Multiplier, s.Efficiency = 0.05+0.95*r.Float64(), 1+3*r.Float64(), r.IntN(2) == 0
				want, got := s.Speculatable(ts), f(slices.Clone(ts), s)
				if !slices.Equal(got, want) {
					t.Errorf("stage %d (%d tasks, quantile %.2f, multiplier %.2f, efficiency %v): got %v, want %v", i, len(ts), s.Quantile, s.Multiplier, s.Efficiency, got, want)
					return
				}
			}
		}},
	},
	Timeout: 10 * time.Second,
})

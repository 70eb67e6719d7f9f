package shuffle

import (
	"slices"
	"testing"
	"time"
)

// stage builds n task states: done tasks of 1 s and 1000 records, then the
// running ones given as (runtime, records so far).
func stage(done int, running ...[2]int64) []TaskState {
	var ts []TaskState
	for i := range done {
		ts = append(ts, TaskState{Index: i, Done: true, Duration: time.Second, Records: 1000})
	}
	for i, r := range running {
		ts = append(ts, TaskState{Index: done + i, Running: true, Runtime: time.Duration(r[0]) * time.Millisecond, Records: r[1]})
	}
	return ts
}

func TestSpeculationCopiesSlowInefficientTasksOnceTheQuantileHasFinished(t *testing.T) {
	s := DefaultSpeculation()
	for _, tc := range []struct {
		name  string
		tasks []TaskState
		want  []int
	}{
		{"nothing before 90% have finished", stage(8, [2]int64{10_000, 100}, [2]int64{10_000, 100}), nil},
		{"a slow task with a low record rate is copied past 3 x median",
			stage(18, [2]int64{3500, 500}, [2]int64{500, 500}), []int{18}},
		{"not before 3 x median", stage(18, [2]int64{2900, 100}, [2]int64{500, 500}), nil},
		{"a task slow because it has more data (normal rate) waits until 2 x the threshold",
			stage(18, [2]int64{5000, 5000}, [2]int64{7000, 7000}), []int{19}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Speculatable(tc.tasks); !slices.Equal(got, tc.want) {
				t.Errorf("Speculatable = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSpeculationWithoutEfficiencyCopiesEverySlowTask(t *testing.T) {
	s := DefaultSpeculation()
	s.Efficiency = false
	if got := s.Speculatable(stage(18, [2]int64{5000, 5000}, [2]int64{100, 100})); !slices.Equal(got, []int{18}) {
		t.Errorf("Speculatable = %v, want [18]", got)
	}
}

func TestTheThresholdIsNeverBelowTheMinimumRuntime(t *testing.T) {
	s := DefaultSpeculation()
	ts := []TaskState{{Index: 0, Done: true, Duration: time.Millisecond}, {Index: 1, Running: true, Runtime: 50 * time.Millisecond}}
	th, ok := s.Threshold(ts)
	if !ok || th != 100*time.Millisecond {
		t.Errorf("Threshold = %v, %v; want 100ms (minTaskRuntime), true", th, ok)
	}
}

func TestSpeculationRejectsBadSettings(t *testing.T) {
	for name, mutate := range map[string]func(*Speculation){
		"quantile 0":       func(s *Speculation) { s.Quantile = 0 },
		"quantile above 1": func(s *Speculation) { s.Quantile = 1.5 },
		"multiplier 0.5":   func(s *Speculation) { s.Multiplier = 0.5 },
		"interval 0":       func(s *Speculation) { s.Interval = 0 },
		"negative minimum": func(s *Speculation) { s.MinRuntime = -1 },
	} {
		s := DefaultSpeculation()
		mutate(&s)
		if s.Validate() == nil {
			t.Errorf("%s: Validate returned nil", name)
		}
	}
}

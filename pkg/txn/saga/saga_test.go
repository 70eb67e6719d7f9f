package saga_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

func run(t *testing.T, cfg saga.Config) *saga.Result {
	t.Helper()
	r, err := saga.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAFailureFreeSagaCompletesWithOneEffectPerStep(t *testing.T) {
	for _, choreo := range []bool{false, true} {
		t.Run(fmt.Sprintf("choreography %v", choreo), func(t *testing.T) {
			cfg := saga.Default(ref.NextCompensation)
			cfg.Choreography, cfg.Outbox = choreo, choreo
			r := run(t, cfg)
			s := r.Sagas[0]
			if s.Outcome != saga.Completed {
				t.Fatalf("outcome %v, want completed", s.Outcome)
			}
			if !slices.Equal(s.DoCount, []int{1, 1, 1}) || s.Compensations() != 0 {
				t.Errorf("effects %v, compensations %d; want one per step and none", s.DoCount, s.Compensations())
			}
			if !(s.DoAt[0] < s.DoAt[1] && s.DoAt[1] < s.DoAt[2]) {
				t.Errorf("steps took effect at %v; want order, then inventory, then billing", s.DoAt)
			}
			if w := s.Window(); w <= 0 || w > s.Latency() {
				t.Errorf("window %v, latency %v; want 0 < window <= latency", w, s.Latency())
			}
			if v := r.Violations(); len(v) > 0 {
				t.Errorf("violations: %v", v)
			}
		})
	}
}

func TestAFailureAtStepKCostsKCompensationsInReverseOrder(t *testing.T) {
	for _, choreo := range []bool{false, true} {
		for k, step := range saga.DefaultSteps {
			t.Run(fmt.Sprintf("%s fails, choreography %v", step, choreo), func(t *testing.T) {
				cfg := saga.Default(ref.NextCompensation)
				cfg.Choreography, cfg.Outbox = choreo, choreo
				cfg.FailAt = step
				r := run(t, cfg)
				s := r.Sagas[0]
				if s.Outcome != saga.Compensated || s.Compensations() != k {
					t.Fatalf("outcome %v with %d compensations; want compensated with %d", s.Outcome, s.Compensations(), k)
				}
				for i := 1; i < k; i++ {
					if s.UndoAt[i] > s.UndoAt[i-1] {
						t.Errorf("%s undone at %v, after %s at %v; want the later step undone first", saga.DefaultSteps[i], s.UndoAt[i], saga.DefaultSteps[i-1], s.UndoAt[i-1])
					}
				}
				if v := r.Violations(); len(v) > 0 {
					t.Errorf("violations: %v", v)
				}
			})
		}
	}
}

func TestTheOrchestratorResumesFromItsLogAfterACrashAtAnyStep(t *testing.T) {
	for _, failAt := range []string{"", "billing", "inventory"} {
		for k := 0; k <= 14; k++ {
			cfg := saga.Default(ref.NextCompensation)
			cfg.FailAt = failAt
			cfg.Crashes = []fault.Crash{fault.After(saga.Orchestrator, k, 3*time.Second)}
			r := run(t, cfg)
			if v := r.Violations(); len(v) > 0 {
				t.Errorf("fail at %q, orchestrator crashing after %d effects: %v", failAt, k, v)
			}
		}
	}
}

func TestServiceCrashesLossAndDuplicatesNeverDoubleAnEffect(t *testing.T) {
	nodes := append([]string{saga.Orchestrator}, saga.DefaultSteps...)
	for i := 0; i < 400; i++ {
		cfg := saga.Default(ref.NextCompensation)
		cfg.Seed = uint64(i)
		cfg.FailAt = []string{"", "inventory", "billing"}[i%3]
		cfg.Link.Drop, cfg.Link.Duplicate, cfg.Link.FIFO = 0.1, 0.1, false
		cfg.UndoFailure = 0.3
		rng := sim.NewRand(cfg.Seed, "test")
		cfg.Crashes = []fault.Crash{fault.After(nodes[rng.IntN(len(nodes))], rng.IntN(12), time.Duration(rng.Int64N(int64(5*time.Second))))}
		r := run(t, cfg)
		if v := r.Violations(); len(v) > 0 {
			t.Fatalf("seed %d (%s, fail at %q): %v", i, cfg.Crashes[0], cfg.FailAt, v)
		}
	}
}

func TestFailingCompensationsAreParkedThenReconciled(t *testing.T) {
	cfg := saga.Default(ref.NextCompensation)
	cfg.FailAt = "billing"
	// inventory reserves and answers (2 effects), then is down for 20 s
	// while the orchestrator tries to release the stock.
	cfg.Crashes = []fault.Crash{fault.After("inventory", 2, 20*time.Second)}
	r := run(t, cfg)
	s := r.Sagas[0]
	if s.Parked == 0 {
		t.Errorf("the saga was never parked although inventory was down for 20s")
	}
	if s.Outcome != saga.Compensated {
		t.Errorf("outcome %v; the reconciliation job should finish the compensation", s.Outcome)
	}
	if s.End < 20*time.Second || s.End > 20*time.Second+2*cfg.ReconcileEvery {
		t.Errorf("finished at %v; want within two reconciliation periods after inventory came back (20s)", s.End)
	}
	if v := r.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestWithoutAnOutboxACrashAfterTheCommitStrandsTheSaga(t *testing.T) {
	for _, outbox := range []bool{false, true} {
		t.Run(fmt.Sprintf("outbox %v", outbox), func(t *testing.T) {
			cfg := saga.Default(nil)
			cfg.Choreography, cfg.Outbox = true, outbox
			// inventory's first effect is the local commit of its reservation.
			cfg.Crashes = []fault.Crash{fault.After("inventory", 1, time.Second)}
			r := run(t, cfg)
			got := r.Sagas[0].Outcome
			if outbox && got != saga.Completed {
				t.Errorf("with an outbox the relay publishes after the restart; outcome %v, want completed", got)
			}
			if !outbox && got != saga.Running {
				t.Errorf("without an outbox the event is lost; outcome %v, want the saga stranded", got)
			}
			if !outbox && (r.Stuck == nil || !strings.Contains(r.Stuck.Error(), "event was lost")) {
				t.Errorf("stuck = %v; want it to say an event was lost", r.Stuck)
			}
		})
	}
}

// The checker must catch broken compensation rules, not only bless the
// reference.
func TestTheOutcomeCheckerCatchesBrokenCompensations(t *testing.T) {
	forward := func(p saga.Progress) (saga.Compensation, bool) {
		for _, s := range p.Done {
			if !slices.Contains(p.Compensated, s) {
				return saga.Compensation{Step: s, Key: p.SagaID + "/" + s + "/undo"}, true
			}
		}
		return saga.Compensation{}, false
	}
	keyPerAttempt := func(p saga.Progress) (saga.Compensation, bool) {
		c, ok := ref.NextCompensation(p)
		c.Key += fmt.Sprint("#", p.Attempt)
		return c, ok
	}
	notDone := func(p saga.Progress) (saga.Compensation, bool) {
		return saga.Compensation{Step: "billing", Key: "k"}, len(p.Compensated) == 0
	}
	tests := []struct {
		name string
		rule saga.CompensateFunc
		drop float64
		want string
	}{
		{"compensating in forward order", forward, 0, "out of order"},
		{"a new key on every retry", keyPerAttempt, 0.3, "took effect 2 times"},
		{"compensating a step that never took effect", notDone, 0, "never took effect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all []string
			for seed := uint64(0); seed < 30 && len(all) == 0; seed++ {
				cfg := saga.Default(tt.rule)
				cfg.Seed = seed
				cfg.FailAt = "billing"
				cfg.Link.Drop = tt.drop
				cfg.Horizon = time.Minute
				all = run(t, cfg).Violations()
			}
			if v := strings.Join(all, " | "); !strings.Contains(v, tt.want) {
				t.Errorf("violations %q; want one mentioning %q", v, tt.want)
			}
		})
	}
}

func TestTheCheckerJudgesEffectsNotClaims(t *testing.T) {
	base := saga.Result{Steps: []string{"a", "b"}}
	mk := func(o saga.Outcome, do, undo []int) *saga.Result {
		r := base
		s := saga.SagaResult{ID: "s1", Outcome: o, DoCount: do, UndoCount: undo, DoAt: []time.Duration{1, 2}, UndoAt: []time.Duration{-1, -1}, End: 3}
		for i := range undo {
			if undo[i] > 0 {
				s.UndoAt[i] = time.Duration(10 - i)
			}
		}
		r.Sagas = []saga.SagaResult{s}
		return &r
	}
	tests := []struct {
		name string
		r    *saga.Result
		want string
	}{
		{"completed but a step missing", mk(saga.Completed, []int{1, 0}, []int{0, 0}), "b never took effect"},
		{"compensated but one effect left", mk(saga.Compensated, []int{1, 1}, []int{1, 0}), "never undone"},
		{"a double charge", mk(saga.Completed, []int{1, 2}, []int{0, 0}), "took effect 2 times"},
		{"an unfinished saga", mk(saga.Running, []int{1, 0}, []int{0, 0}), "did not finish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := strings.Join(saga.CheckOutcome(tt.r), " | "); !strings.Contains(v, tt.want) {
				t.Errorf("CheckOutcome = %q; want a sentence with %q", v, tt.want)
			}
		})
	}
	if v := saga.CheckOutcome(mk(saga.Compensated, []int{1, 1}, []int{1, 1})); len(v) > 0 {
		t.Errorf("a correctly compensated saga was rejected: %v", v)
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	trace := func(seed uint64, choreo bool) string {
		cfg := saga.Default(ref.NextCompensation)
		cfg.Seed, cfg.Trace, cfg.FailAt = seed, 400, "billing"
		cfg.Choreography, cfg.Outbox = choreo, choreo
		return run(t, cfg).Mermaid()
	}
	for _, choreo := range []bool{false, true} {
		a := trace(7, choreo)
		if a != trace(7, choreo) {
			t.Errorf("choreography %v: two runs with seed 7 drew different diagrams", choreo)
		}
		if a == trace(8, choreo) {
			t.Errorf("choreography %v: seeds 7 and 8 drew the same diagram", choreo)
		}
		for _, want := range []string{"sequenceDiagram", "refuse s1", "release stock s1", "cancel order s1"} {
			if !strings.Contains(a, want) {
				t.Errorf("choreography %v: the diagram lacks %q", choreo, want)
			}
		}
	}
}

func TestInvalidConfigurationsAreClearErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*saga.Config)
		want string
	}{
		{"no steps", func(c *saga.Config) { c.Steps = nil }, "no steps"},
		{"a reserved step name", func(c *saga.Config) { c.Steps = []string{"bus"} }, "reserved"},
		{"a negative timeout", func(c *saga.Config) { c.Timeout = -time.Second }, "Timeout is negative"},
		{"zero attempts", func(c *saga.Config) { c.MaxAttempts = 0 }, "MaxAttempts"},
		{"an unknown failing step", func(c *saga.Config) { c.FailAt = "shipping" }, "not a step"},
		{"a failure probability above 1", func(c *saga.Config) { c.UndoFailure = 1.5 }, "outside [0, 1]"},
		{"an outbox without choreography", func(c *saga.Config) { c.Outbox = true }, "choreography"},
		{"a crash after the run", func(c *saga.Config) { c.Crashes = []fault.Crash{fault.At("order", time.Hour, 0)} }, "outside the run"},
		{"a crash of the bus in an orchestrated saga", func(c *saga.Config) { c.Crashes = []fault.Crash{fault.After("bus", 1, 0)} }, `"bus"`},
		{"no compensation rule", func(c *saga.Config) { c.Compensate = nil }, "Compensate is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := saga.Default(ref.NextCompensation)
			tt.mod(&cfg)
			_, err := saga.Run(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestARuleThatPanicsIsReportedWithTheVirtualTime(t *testing.T) {
	cfg := saga.Default(func(saga.Progress) (saga.Compensation, bool) { panic("oops") })
	cfg.FailAt = "billing"
	r := run(t, cfg)
	v := strings.Join(r.Violations(), " | ")
	for _, want := range []string{"panicked: oops", "virtual time", "stalled"} {
		if !strings.Contains(v, want) {
			t.Errorf("violations %q lack %q", v, want)
		}
	}
}

func ExampleRun() {
	cfg := saga.Default(ref.NextCompensation)
	cfg.FailAt = "billing" // the card is declined
	r, _ := saga.Run(cfg)
	s := r.Sagas[0]
	fmt.Println(s.Outcome, "with", s.Compensations(), "compensations")
	fmt.Println("stock released before the order was cancelled:", s.UndoAt[1] < s.UndoAt[0])
	fmt.Println("violations:", len(r.Violations()))
	// Output:
	// compensated with 2 compensations
	// stock released before the order was cancelled: true
	// violations: 0
}

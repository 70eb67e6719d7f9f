package txn

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

func TestBlockingFollowsTheCoordinatorsDowntime(t *testing.T) {
	downs := []time.Duration{0, 5 * time.Second, 20 * time.Second, 60 * time.Second}
	cfg := TwoPC()
	pts, err := BlockingVsDowntime(cfg, func(d time.Duration) twopc.Crash { return twopc.CoordinatorAfterPrepare(3, d) }, downs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		if p.Blocked < p.Downtime || p.Blocked > p.Downtime+4*cfg.QueryInterval+10*time.Millisecond {
			t.Errorf("downtime %v: blocked %v; want the downtime plus at most 4 query intervals", p.Downtime, p.Blocked)
		}
		if len(p.Violations) > 0 {
			t.Errorf("downtime %v: %v", p.Downtime, p.Violations)
		}
	}
}

func TestRandomCrashesGiveTheSameNumbersWhateverTheWorkers(t *testing.T) {
	cfg := TwoPC()
	cfg.Cooperative = true
	a, err := RandomCrashes(cfg, 400, 30*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RandomCrashes(cfg, 400, 30*time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the study differs between 1 and 2 workers")
	}
	if a.Violations != 0 {
		t.Errorf("%d violations with the reference rules: %s", a.Violations, a.FirstViolation)
	}
	total := 0
	for _, p := range a.ByPoint() {
		total += p.Runs
		if p.P50 > p.P99 || p.P99 > p.Max {
			t.Errorf("%s: p50 %v, p99 %v, max %v out of order", p.Point, p.P50, p.P99, p.Max)
		}
	}
	if total != 400 {
		t.Errorf("ByPoint covers %d runs, want 400", total)
	}
}

// Each deliberately broken rule is caught by the experiment that judges it.
func TestTheStudiesCatchEveryBrokenRule(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*twopc.Rules)
		coop bool
	}{
		{"a recovery that forgets prepared transactions", func(r *twopc.Rules) { r.Recover = ForgetPrepared }, false},
		{"a coordinator that sends COMMIT before logging it", func(r *twopc.Rules) { r.Phase2 = SendBeforeLog }, false},
		{"a termination rule that aborts when every peer is in doubt", func(r *twopc.Rules) { r.Terminate = AbortWhenAllPrepared }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := Rules2PC()
			tt.mod(&rules)
			cfg := twopc.Default(rules)
			cfg.Cooperative = tt.coop
			st, err := RandomCrashes(cfg, 1000, 30*time.Second, 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.Violations == 0 || !strings.Contains(st.FirstViolation, "seed") {
				t.Fatalf("%d violations (%q); want some, each naming its seed", st.Violations, st.FirstViolation)
			}
			r, err := st.Replay(cfg)
			if err != nil || r == nil || len(r.Violations()) == 0 || !strings.Contains(r.Mermaid(), "sequenceDiagram") {
				t.Errorf("the replay of the first violation did not reproduce it with a diagram (err %v)", err)
			}
		})
	}
	ok, _ := RandomCrashes(TwoPC(), 100, time.Second, 1)
	if r, err := ok.Replay(TwoPC()); r != nil || err != nil {
		t.Errorf("Replay of a clean study = %v, %v; want nil, nil", r, err)
	}
	plan := FaultPlan{FailAt: []string{"billing"}}
	for _, c := range []struct {
		name string
		rule func(saga.Progress) (saga.Compensation, bool)
		drop float64
	}{{"compensating in forward order", ForwardOrder, 0}, {"a new key per retry", KeyPerAttempt, 0.2}} {
		cfg := saga.Default(c.rule)
		cfg.Link.Drop = c.drop
		st, err := SagaFaults(cfg, plan, 200, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Violations == 0 {
			t.Errorf("%s: no violation in 200 sagas", c.name)
		}
	}
}

func TestSurvivalCountsRunsLongerThanEachX(t *testing.T) {
	ds := []time.Duration{0, time.Second, 3 * time.Second, 10 * time.Second}
	x, pct := Survival(ds, []float64{0, 2, 5, 20})
	if !reflect.DeepEqual(x, []float64{0, 2, 5}) || !reflect.DeepEqual(pct, []float64{75, 50, 25}) {
		t.Errorf("Survival = %v, %v; want [0 2 5], [75 50 25] (x = 20 has no longer run)", x, pct)
	}
}

func TestSagasWinUnderContentionAndTwoPCWinsWithout(t *testing.T) {
	base := DefaultLoad()
	base.Txns = 400
	rows := []int{1, 1024}
	pts, err := SweepLoad(base, len(rows), func(l *Load, i int) { l.HotRows = rows[i] }, Rules2PC(), RulesSaga(), 0)
	if err != nil {
		t.Fatal(err)
	}
	hot, cold := pts[0], pts[1]
	if !(hot.Saga.Throughput > 2*hot.TwoPC.Throughput) {
		t.Errorf("one hot row: saga %.0f/s, 2PC %.0f/s; want the saga more than twice as fast (its lock lasts one fsync)", hot.Saga.Throughput, hot.TwoPC.Throughput)
	}
	if !(cold.TwoPC.Throughput > cold.Saga.Throughput && cold.TwoPC.P50 < cold.Saga.P50) {
		t.Errorf("no contention: 2PC %.0f/s p50 %v, saga %.0f/s p50 %v; want 2PC faster (2 round trips against 3 sequential steps)",
			cold.TwoPC.Throughput, cold.TwoPC.P50, cold.Saga.Throughput, cold.Saga.P50)
	}
	if hot.TwoPC.Committed+hot.TwoPC.Aborted != base.Txns || hot.Saga.Committed != base.Txns {
		t.Errorf("2PC finished %d+%d, saga %d; want %d each", hot.TwoPC.Committed, hot.TwoPC.Aborted, hot.Saga.Committed, base.Txns)
	}
	again, _ := SweepLoad(base, len(rows), func(l *Load, i int) { l.HotRows = rows[i] }, Rules2PC(), RulesSaga(), 1)
	if !reflect.DeepEqual(pts, again) {
		t.Error("the same sweep gave different numbers")
	}
}

func TestEachFailurePointCostsItsCompensations(t *testing.T) {
	hops := []time.Duration{time.Millisecond, 10 * time.Millisecond}
	pts, err := SagaWindows(Saga(), []string{"", "order", "inventory", "billing"}, hops, 20, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"": 0, "order": 0, "inventory": 1, "billing": 2}
	for _, p := range pts {
		if p.Compensations != want[p.FailAt] || p.Violations != 0 {
			t.Errorf("fail at %q, hop %v: %.1f compensations, %d violations; want %.0f and 0", p.FailAt, p.Hop, p.Compensations, p.Violations, want[p.FailAt])
		}
		if p.FailAt == "order" && p.Window != 0 {
			t.Errorf("a saga refused at its first step shows nothing, window %v", p.Window)
		}
	}
	// Windows grow with the per-hop latency.
	for i := 0; i < len(pts); i += 2 {
		if pts[i].FailAt != "order" && !(pts[i+1].Window > 5*pts[i].Window) {
			t.Errorf("fail at %q: window %v at 1 ms hops, %v at 10 ms; want it to grow with the hops", pts[i].FailAt, pts[i].Window, pts[i+1].Window)
		}
	}
	holds, err := LockHoldVsHop(TwoPC(), hops)
	if err != nil || !(holds[1] > holds[0]) {
		t.Errorf("2PC lock hold %v (err %v); want it to grow with the hops", holds, err)
	}
}

func TestTheOutboxKeepsEventsThatADualWriteLoses(t *testing.T) {
	plan := FaultPlan{FailAt: []string{"", "billing"}, CrashNodes: []string{"order", "inventory", "billing"}, MaxStep: 6, MaxDowntime: 5 * time.Second}
	for _, outbox := range []bool{false, true} {
		cfg := Saga()
		cfg.Choreography, cfg.Outbox = true, outbox
		st, err := SagaFaults(cfg, plan, 300, 0)
		if err != nil {
			t.Fatal(err)
		}
		if outbox && (st.Unfinished != 0 || st.Violations != 0) {
			t.Errorf("with an outbox: %d unfinished, %d violations (%s); want none", st.Unfinished, st.Violations, st.FirstViolation)
		}
		if !outbox && st.Unfinished == 0 {
			t.Errorf("with a dual write no saga was stranded; want some (an event lost between commit and publish)")
		}
		if st.Double != 0 {
			t.Errorf("outbox %v: %d double effects; consumers dedupe by event id", outbox, st.Double)
		}
	}
}

func TestExperimentsRejectBadInput(t *testing.T) {
	crash := func(d time.Duration) twopc.Crash { return twopc.CoordinatorAfterPrepare(3, d) }
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"no downtimes", func() error { _, err := BlockingVsDowntime(TwoPC(), crash, nil); return err }, "no downtime"},
		{"a negative downtime", func() error {
			_, err := BlockingVsDowntime(TwoPC(), crash, []time.Duration{-time.Second})
			return err
		}, "not positive"},
		{"no crash function", func() error { _, err := BlockingVsDowntime(TwoPC(), nil, []time.Duration{time.Second}); return err }, "crash function"},
		{"zero runs", func() error { _, err := RandomCrashes(TwoPC(), 0, time.Second, 1); return err }, "at least 1"},
		{"a downtime longer than the run", func() error { _, err := RandomCrashes(TwoPC(), 10, time.Hour, 1); return err }, "horizon"},
		{"an invalid 2PC configuration", func() error {
			c := TwoPC()
			c.Participants = nil
			_, err := RandomCrashes(c, 10, time.Second, 1)
			return err
		}, "no participants"},
		{"no clients", func() error { l := DefaultLoad(); l.Clients = 0; _, err := Run2PCLoad(l, Rules2PC()); return err }, "Clients"},
		{"no hot rows", func() error { l := DefaultLoad(); l.HotRows = 0; _, err := RunSagaLoad(l, RulesSaga()); return err }, "HotRows"},
		{"a negative hop", func() error { l := DefaultLoad(); l.Hop = -1; _, err := Run2PCLoad(l, Rules2PC()); return err }, "negative"},
		{"an empty sweep", func() error { _, err := SweepLoad(DefaultLoad(), 0, nil, Rules2PC(), RulesSaga(), 1); return err }, "at least one"},
		{"no failure points", func() error { _, err := SagaWindows(Saga(), nil, []time.Duration{1}, 1, 1); return err }, "no failure points"},
		{"an unknown failing step", func() error {
			_, err := SagaWindows(Saga(), []string{"shipping"}, []time.Duration{1}, 1, 1)
			return err
		}, "not a step"},
		{"a negative fault step", func() error { _, err := SagaFaults(Saga(), FaultPlan{MaxStep: -1}, 1, 1); return err }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{20, 1}, {50, 3}, {100, 5}, {99, 5}} {
		if got := Percentile(xs, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", xs, c.p, got, c.want)
		}
	}
	if got := durPct(nil, 50); got != -1 {
		t.Errorf("durPct(nil) = %v, want -1", got)
	}
}

// BenchmarkRandomCrashes is the chapter's budget: 10,000 simulated 2PC
// runs, each with a crash at a random protocol step, on one core, in at
// most a second (at least 10,000 runs/s).
func BenchmarkRandomCrashes(b *testing.B) {
	cfg := TwoPC()
	cfg.Cooperative = true
	const runs = 10_000
	start := time.Now()
	for b.Loop() {
		st, err := RandomCrashes(cfg, runs, 30*time.Second, 1)
		if err != nil || st.Violations != 0 {
			b.Fatalf("err %v, %d violations", err, st.Violations)
		}
	}
	rate := float64(runs*b.N) / time.Since(start).Seconds()
	budget.AtLeast(b, "runs/s", rate, 10_000)
}

func ExampleBlockingVsDowntime() {
	crash := func(d time.Duration) twopc.Crash { return twopc.CoordinatorAfterPrepare(3, d) }
	pts, _ := BlockingVsDowntime(TwoPC(), crash, []time.Duration{10 * time.Second, 30 * time.Second})
	for _, p := range pts {
		fmt.Printf("coordinator down %v: participants blocked %v\n", p.Downtime, p.Blocked.Round(100*time.Millisecond))
	}
	// Output:
	// coordinator down 10s: participants blocked 11.5s
	// coordinator down 30s: participants blocked 31.5s
}

func ExampleSweepLoad() {
	base := DefaultLoad()
	base.Txns = 300
	rows := []int{1, 1000}
	pts, _ := SweepLoad(base, 2, func(l *Load, i int) { l.HotRows = rows[i] }, Rules2PC(), RulesSaga(), 0)
	for _, p := range pts {
		fmt.Printf("%4d hot rows: saga/2PC throughput = %.1f\n", p.Load.HotRows, p.Saga.Throughput/p.TwoPC.Throughput)
	}
	// Output:
	//    1 hot rows: saga/2PC throughput = 5.0
	// 1000 hot rows: saga/2PC throughput = 0.3
}

// Same seed, same chart: every experiment the notebook draws gives the
// same numbers twice, whatever the number of goroutines.
func TestEveryChartIsTheSameTwice(t *testing.T) {
	hops := []time.Duration{time.Millisecond, 5 * time.Millisecond}
	plan := FaultPlan{FailAt: []string{"", "billing"}, CrashNodes: []string{"orchestrator", "billing"}, MaxStep: 10, MaxDowntime: 5 * time.Second}
	lossy := Saga()
	lossy.Link.Drop, lossy.UndoFailure = 0.1, 0.3
	tests := []struct {
		name string
		run  func(workers int) any
	}{
		{"blocking against downtime", func(int) any {
			p, _ := BlockingVsDowntime(TwoPC(), func(d time.Duration) twopc.Crash { return twopc.CoordinatorAfterFirstDecision(3, d) }, []time.Duration{time.Second, 9 * time.Second})
			return p
		}},
		{"saga windows", func(w int) any {
			p, _ := SagaWindows(Saga(), []string{"", "billing"}, hops, 10, w)
			return p
		}},
		{"2PC lock hold against hops", func(int) any { p, _ := LockHoldVsHop(TwoPC(), hops); return p }},
		{"saga faults", func(w int) any { p, _ := SagaFaults(lossy, plan, 200, w); return p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := tt.run(1), tt.run(2); !reflect.DeepEqual(a, b) {
				t.Errorf("two runs differ:\n%v\n%v", a, b)
			}
		})
	}
}

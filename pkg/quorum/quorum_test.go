package quorum

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/quorum/replica"
	"github.com/dsgym/dsgym/pkg/sim"
)

// americas is the usual partition of the chapter: the Americas on one side,
// Europe and Asia on the other.
var americas = [][]sim.Region{{sim.USEast, sim.USWest, sim.SAEast}}

func cfgWith(n, r, w int, mode RepairMode, sloppy bool) Config {
	c := Default().WithQuorums(n, r, w)
	c.Repair, c.Sloppy = mode, sloppy
	return c
}

func mustRun(t testing.TB, cfg Config, w Workload) *Report {
	t.Helper()
	rep, err := Run(cfg, w)
	if err != nil {
		t.Fatalf("Run(%s): %v", cfg.Name(), err)
	}
	return rep
}

func mustCheck(t testing.TB, h linz.History) linz.Result {
	t.Helper()
	res, err := linz.Check(h, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBadConfigurationsAreClearErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no nodes", func(c *Config) { c.Regions = nil }, "no nodes"},
		{"N below 1", func(c *Config) { c.N = 0 }, "N=0"},
		{"N above the nodes", func(c *Config) { c.N = 6 }, "only 5 nodes"},
		{"R below 1", func(c *Config) { c.R = 0 }, "R=0 is outside 1..N=3"},
		{"R above N", func(c *Config) { c.R = 4 }, "R=4 is outside 1..N=3"},
		{"W below 1", func(c *Config) { c.W = -1 }, "W=-1 is outside 1..N=3"},
		{"W above N", func(c *Config) { c.W = 4 }, "W=4 is outside 1..N=3"},
		{"a negative timeout", func(c *Config) { c.Timeout = -time.Second }, "must not be negative"},
		{"sloppy with blocking repair", func(c *Config) { c.Sloppy = true }, "sloppy quorums cannot use blocking"},
		{"an unknown region", func(c *Config) { c.Regions[1] = "mars-north" }, "mars-north"},
		{"clock skews for the wrong number of nodes", func(c *Config) { c.ClockSkew = []time.Duration{1} }, "ClockSkew has 1 entries for 5 nodes"},
		{"an unknown repair mode", func(c *Config) { c.Repair = 7 }, "unknown read repair mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: error %v, want one containing %q", err, tt.want)
			}
			if _, err := Run(cfg, DefaultWorkload()); err == nil {
				t.Error("Run accepted the configuration")
			}
		})
	}
}

func TestBadWorkloadsAreClearErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Workload)
		want string
	}{
		{"no operations", func(w *Workload) { w.Ops = 0 }, "at least one operation"},
		{"no clients", func(w *Workload) { w.ClientsPerNode = 0 }, "at least one client"},
		{"no keys", func(w *Workload) { w.Keys = 0 }, "at least one key"},
		{"negative think time", func(w *Workload) { w.Think = -time.Millisecond }, "negative"},
		{"a read fraction above 1", func(w *Workload) { w.ReadFraction = 1.5 }, "outside [0, 1]"},
		{"a negative class weight", func(w *Workload) { w.Classes = []Class{{Name: "a", Weight: -1}} }, "weight -1"},
		{"classes that weigh nothing", func(w *Workload) { w.Classes = []Class{{Name: "a"}} }, "add up to 0"},
		{"a class level outside 1..N", func(w *Workload) { w.Classes = []Class{{Name: "a", Weight: 1, Level: Level{R: 9}}} }, "R=9 is outside"},
		{"a heal before the partition", func(w *Workload) { w.Faults = []Fault{{At: time.Second, Heal: time.Millisecond, Sides: americas}} }, "Heal must come after At"},
		{"a partition of an unknown region", func(w *Workload) {
			w.Faults = []Fault{{At: time.Second, Sides: [][]sim.Region{{"atlantis"}}}}
		}, "atlantis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := DefaultWorkload()
			tt.edit(&w)
			_, err := Run(Default(), w)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRunsAreDeterministic(t *testing.T) {
	w := DefaultWorkload()
	w.Ops = 500
	w.Faults = []Fault{{At: time.Second, Heal: 2 * time.Second, Sides: americas}}
	cfg := cfgWith(3, 1, 1, RepairAsync, true)
	a, b := mustRun(t, cfg, w), mustRun(t, cfg, w)
	if !slices.Equal(a.History.Ops, b.History.Ops) || a.Messages != b.Messages || !slices.Equal(a.Durability, b.Durability) {
		t.Error("the same seed gave two different runs")
	}
	cfg.Seed = 2
	if c := mustRun(t, cfg, w); slices.Equal(a.History.Ops, c.History.Ops) {
		t.Error("a different seed gave the same run")
	}
}

func TestStrictIntersectingQuorumsWithBlockingRepairAreLinearizable(t *testing.T) {
	w := DefaultWorkload()
	w.Keys = 4 // contention: many concurrent operations per key
	for _, q := range [][3]int{{3, 2, 2}, {3, 1, 3}, {3, 3, 1}, {5, 3, 3}, {5, 2, 4}, {1, 1, 1}} {
		for seed := uint64(1); seed <= 3; seed++ {
			cfg := cfgWith(q[0], q[1], q[2], RepairBlocking, false)
			cfg.Seed = seed
			t.Run(cfg.Name(), func(t *testing.T) {
				rep := mustRun(t, cfg, w)
				if res := mustCheck(t, rep.History); !res.OK() {
					t.Errorf("seed %d: %v", seed, res)
				}
				if rep.Staleness.Stale > 0 || rep.Answered() != 1 {
					t.Errorf("seed %d: %v, %.3f answered; want no stale reads and every operation answered", seed, rep.Staleness, rep.Answered())
				}
			})
		}
	}
}

func TestQuorumsThatNeedNotMeetServeStaleReads(t *testing.T) {
	w := DefaultWorkload()
	w.Keys = 4
	for _, q := range [][3]int{{3, 1, 1}, {3, 1, 2}, {3, 2, 1}} {
		cfg := cfgWith(q[0], q[1], q[2], RepairBlocking, false)
		t.Run(cfg.Name(), func(t *testing.T) {
			rep := mustRun(t, cfg, w)
			if res := mustCheck(t, rep.History); res.OK() {
				t.Errorf("R+W<=N was found linearizable: %v", res)
			}
		})
	}
	rep := mustRun(t, cfgWith(3, 1, 1, RepairOff, false), w)
	if rep.Staleness.Stale == 0 {
		t.Errorf("N=3 R=1 W=1: %v; want stale reads", rep.Staleness)
	}
}

func TestWithoutWriteBackIntersectingQuorumsCanReadNewThenOld(t *testing.T) {
	// R=1 W=3: every read sees the latest completed write (no stale read),
	// but two reads during one write can see new, then old.
	w := DefaultWorkload()
	w.Keys = 4
	rep := mustRun(t, cfgWith(3, 1, 3, RepairAsync, false), w)
	if rep.Staleness.Stale != 0 {
		t.Errorf("R+W>N: %v; want no stale read", rep.Staleness)
	}
	if res := mustCheck(t, rep.History); res.OK() {
		t.Errorf("R=1 W=3 without write-back: %v; want a new-then-old violation", res)
	}
}

func TestDuringAPartition(t *testing.T) {
	w := DefaultWorkload()
	w.Faults = []Fault{{At: 2 * time.Second, Heal: 5 * time.Second, Sides: americas}}
	w.SampleEvery = 250 * time.Millisecond
	t.Run("strict quorums refuse what they cannot reach and stay linearizable", func(t *testing.T) {
		rep := mustRun(t, cfgWith(3, 2, 2, RepairBlocking, false), w)
		during := rep.During(2*time.Second, 5*time.Second)
		if r := during[0]; r.Refused == 0 || r.OK == 0 {
			t.Errorf("reads during the partition: %d answered, %d refused; want some of each", r.OK, r.Refused)
		}
		if res := mustCheck(t, rep.History); !res.OK() {
			t.Error(res)
		}
		for _, o := range rep.History.Ops {
			if o.Failed && (o.Call < time.Second || o.Call > 5*time.Second) {
				t.Errorf("a write outside the partition failed: %v", o)
			}
		}
	})
	t.Run("with N=5 the majority side answers everything and the minority side nothing", func(t *testing.T) {
		rep := mustRun(t, cfgWith(5, 3, 3, RepairBlocking, false), w)
		major := Merge(rep.Select(2*time.Second, 5*time.Second, americas[0]...), false)
		minor := Merge(rep.Select(2*time.Second, 5*time.Second, sim.EUWest, sim.APSoutheast), false)
		if major.OK == 0 || major.Refused != 0 || minor.Refused == 0 || minor.OK != 0 {
			t.Errorf("reads during the partition: Americas %d answered / %d refused, Europe+Asia %d / %d; want the first side served and the second refused",
				major.OK, major.Refused, minor.OK, minor.Refused)
		}
		if len(rep.ClientRegions) != 10 {
			t.Errorf("%d client regions, want 10", len(rep.ClientRegions))
		}
	})
	t.Run("sloppy quorums answer everything, serve stale reads, and converge after the heal", func(t *testing.T) {
		rep := mustRun(t, cfgWith(3, 2, 2, RepairAsync, true), w)
		if rep.Answered() != 1 {
			t.Errorf("answered %.3f, want 1", rep.Answered())
		}
		if rep.Staleness.Stale == 0 {
			t.Error("no stale reads: a sloppy quorum should serve some during a partition")
		}
		if rep.Counters.Hinted == 0 || rep.Counters.HandedOff == 0 {
			t.Errorf("counters %+v: want hints stored and handed off", rep.Counters)
		}
		if rep.Divergent != 0 {
			t.Errorf("%d keys still diverge after the heal and the handoff", rep.Divergent)
		}
		if slices.Max(rep.DivergentOver) == 0 {
			t.Error("replicas never diverged during the partition")
		}
	})
	t.Run("a strict operation in a sloppy cluster is refused, not handed off", func(t *testing.T) {
		cw := w
		cw.Classes = []Class{{Name: "ingest", Write: true, Weight: 1, Level: Level{W: 1}}, {Name: "audit", Weight: 1, Level: Level{R: 3, Strict: true}}}
		rep := mustRun(t, cfgWith(3, 1, 1, RepairAsync, true), cw)
		during := rep.During(2*time.Second, 5*time.Second)
		if during[0].Refused != 0 {
			t.Errorf("sloppy ingest refused %d writes", during[0].Refused)
		}
		if during[1].Refused == 0 {
			t.Error("strict R=3 reads were all answered during a partition")
		}
	})
	t.Run("a partition that never heals ends the run", func(t *testing.T) {
		nw := w
		nw.Faults = []Fault{{At: 2 * time.Second, Sides: americas}}
		rep := mustRun(t, cfgWith(3, 1, 1, RepairAsync, true), nw)
		if got := len(rep.History.Ops); got != nw.Ops {
			t.Errorf("%d operations, want %d", got, nw.Ops)
		}
	})
}

func TestAvailabilityOverTime(t *testing.T) {
	w := DefaultWorkload()
	w.Faults = []Fault{{At: 2 * time.Second, Heal: 5 * time.Second, Sides: americas}}
	rep := mustRun(t, cfgWith(3, 2, 2, RepairBlocking, false), w)
	at, ok, err := rep.Window(500 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for i := range at {
		in := at[i] >= 2 && at[i] < 4.5
		switch {
		case at[i] < 1.5 && ok[i] != 1:
			t.Errorf("before the partition, window %.1fs answered %.2f", at[i], ok[i])
		case in && ok[i] >= 1:
			t.Errorf("during the partition, window %.1fs answered everything", at[i])
		}
	}
	if _, _, err := rep.Window(0); err == nil {
		t.Error("a zero window is not an error")
	}
}

func TestDurabilityWindow(t *testing.T) {
	w := DefaultWorkload()
	w.ReadFraction = 0
	one := mustRun(t, cfgWith(3, 1, 1, RepairOff, false), w)
	two := mustRun(t, cfgWith(3, 1, 2, RepairOff, false), w)
	if len(one.Durability) == 0 || slices.Max(one.Durability) < 20 {
		t.Errorf("W=1: windows up to %v ms; want tens of milliseconds on one node only", slices.Max(one.Durability))
	}
	if slices.Max(two.Durability) != 0 {
		t.Errorf("W=2: a write acknowledged before it was on two nodes (%v ms)", slices.Max(two.Durability))
	}
}

func TestOperationLevelsAndReads(t *testing.T) {
	c, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.Client(sim.EUWest)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]Result, 3)
	cl.Get("never-written", Level{}, "", func(r Result) { got[0] = r })
	cl.Put("x", "v", Level{W: 9}, "", func(r Result) { got[1] = r })
	cl.Get("x", Level{R: -1}, "", func(r Result) { got[2] = r })
	_ = c.Sim().Run()
	if got[0].Err != nil || got[0].Found {
		t.Errorf("a read of a key never written: %+v, want not found and no error", got[0])
	}
	for _, r := range got[1:] {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "outside 1..N=3") {
			t.Errorf("a level outside 1..N: %v", r.Err)
		}
	}
	if _, err := c.Client("mars-north"); err == nil {
		t.Error("a client in an unknown region")
	}
	if _, _, _, err := c.Stored("nowhere", "x"); err == nil {
		t.Error("Stored of an unknown node")
	}
}

func TestARefusedOperationSaysWhy(t *testing.T) {
	c, _ := New(Default())
	cl, _ := c.Client(sim.USEast)
	if err := c.Partition([]sim.Region{sim.USEast}); err != nil {
		t.Fatal(err)
	}
	var res Result
	cl.Put("x", "v", Level{}, "", func(r Result) { res = r })
	_ = c.Sim().Run()
	if !errors.Is(res.Err, ErrUnavailable) || !strings.Contains(res.Err.Error(), "of W=2 replicas acknowledged") {
		t.Errorf("error %v, want ErrUnavailable saying how many replicas acknowledged", res.Err)
	}
	if err := c.Partition([]sim.Region{"atlantis"}); err == nil {
		t.Error("a partition of an unknown region")
	}
}

func TestAReadFunctionThatPanicsStopsTheRunWithAnError(t *testing.T) {
	cfg := Default()
	cfg.Read = func(int, []replica.Reply) (replica.Resolution, error) { panic("boom") }
	_, err := Run(cfg, DefaultWorkload())
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v, want one carrying the panic", err)
	}
}

func TestReadRepairConvergesReplicas(t *testing.T) {
	// Writes during a partition leave some home replicas behind; with no
	// hinted handoff, only read repair (or a later write) brings them back.
	w := DefaultWorkload()
	w.ReadFraction, w.Keys, w.Ops, w.SampleEvery = 0.9, 50, 1500, 500*time.Millisecond
	w.Faults = []Fault{{At: 2 * time.Second, Heal: 6 * time.Second, Sides: americas}}
	behind := map[RepairMode]float64{} // key-seconds of replicas left behind, after the heal
	for _, m := range []RepairMode{RepairOff, RepairAsync, RepairBlocking} {
		rep := mustRun(t, cfgWith(3, 2, 2, m, false), w)
		for i, at := range rep.DivergentAt {
			if at >= 6 {
				behind[m] += rep.DivergentOver[i] * 0.5
			}
		}
	}
	if behind[RepairOff] == 0 || behind[RepairAsync] >= behind[RepairOff]/2 || behind[RepairBlocking] >= behind[RepairOff]/2 {
		t.Errorf("key-seconds behind after the heal: %v; want some without repair and less than half with it", behind)
	}
}

func TestWalkthrough(t *testing.T) {
	src, err := Walkthrough(Default(), "x", sim.USEast, sim.APSoutheast)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sequenceDiagram", "write x=v1", "acknowledged after", "answers v1"} {
		if !strings.Contains(src, want) {
			t.Errorf("the diagram lacks %q", want)
		}
	}
	if _, err := Walkthrough(Default(), "", sim.USEast, sim.USEast); err == nil {
		t.Error("an empty key is not an error")
	}
	if _, err := Walkthrough(Default(), "x", "atlantis", sim.USEast); err == nil {
		t.Error("an unknown region is not an error")
	}
}

// An R=N read is stale over a write that only a stand-in acknowledged
// (sloppy W=1, Cassandra's ANY) until the hint is handed over; counting W
// on home replicas only (ONE) refuses that write instead.
func TestAnExactReadMissesAWriteOnlyAStandInAcknowledged(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := Default()
		cfg.Seed = seed
		run, err := HintedStale(cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if seed == 1 {
			t.Logf("key %s homes %v, writer %s, reader %s: sloppy %v, strict %v, exact read %q (stale %v), hint home after %v",
				run.Key, run.Homes, run.Writer, run.Reader, run.Sloppy.Err, run.Strict.Err, run.Exact.Value, run.Stale, run.HintedAt)
		}
		if !run.Stale {
			t.Errorf("seed %d: the exact read returned %q, want the overwritten v1", seed, run.Exact.Value)
		}
		if !errors.Is(run.Strict.Err, ErrUnavailable) {
			t.Errorf("seed %d: the write counted on home replicas only was not refused: %v", seed, run.Strict.Err)
		}
		if run.HintedAt <= 0 {
			t.Errorf("seed %d: the hint never reached a home replica", seed)
		}
	}
}

package shuffle

import (
	"math"
	"testing"
	"time"
)

// flat is data without a hot key, so that only the injected fault slows
// tasks down.
func flat() Data {
	d, _ := Zipf(20_000_000, 100_000, 0.5, 100)
	return d
}

func TestDiagnoseRanksTheInjectedCauseFirst(t *testing.T) {
	const seeds = 20
	for _, tc := range []struct {
		name  string
		setup func(*Config)
		stage string
		want  Cause
		host  string
	}{
		{"a hot key", func(c *Config) { c.AQE.Coalesce = false }, "reduce", DataSkew, ""},
		{"a hot key, partitions coalesced", func(c *Config) {}, "reduce", DataSkew, ""},
		{"a host with a slow disk and CPU", func(c *Config) {
			c.Fact = flat()
			c.Faults = []Fault{{Kind: SlowHost, Host: 3, Factor: 4}}
		}, "reduce", StragglerHost, "host-3"},
		{"a GC storm on one host", func(c *Config) {
			c.Fact = flat()
			c.Faults = []Fault{{Kind: GCStorm, Host: 5, Factor: 20}}
		}, "reduce", GCPressure, ""},
		{"a host with a saturated network card", func(c *Config) {
			c.Fact = flat()
			c.Faults = []Fault{{Kind: HotNetwork, Host: 2, Factor: 30}}
		}, "reduce", FetchHotspot, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= seeds; seed++ {
				c := Default()
				c.Seed = seed
				tc.setup(&c)
				r := mustRun(t, c)
				d, err := Diagnose(r.Successful(tc.stage))
				if err != nil {
					t.Fatal(err)
				}
				top := d.Top()
				if top.Cause != tc.want || (tc.host != "" && top.Host != tc.host) {
					t.Fatalf("seed %d: top cause %q (%.2f, %s) host %q; want %q %s; all: %+v", seed, top.Cause, top.Score, top.Evidence, top.Host, tc.want, tc.host, d.Findings)
				}
				if top.Score < 0.5 {
					t.Errorf("seed %d: %q scored only %.2f", seed, top.Cause, top.Score)
				}
			}
		})
	}
}

func TestDiagnoseFindsNothingStrongInAHealthyStage(t *testing.T) {
	c := Default()
	c.Fact = flat()
	r := mustRun(t, c)
	d, err := Diagnose(r.Successful("reduce"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Top().Score >= 0.3 {
		t.Errorf("healthy stage: top finding %+v scores %.2f, want < 0.3", d.Top(), d.Top().Score)
	}
}

func TestDiagnoseReportsTheTail(t *testing.T) {
	ts := make([]TaskMetrics, 100)
	for i := range ts {
		ts[i] = TaskMetrics{Status: "SUCCESS", Host: "h", Duration: time.Second, ShuffleReadRecords: 100}
	}
	ts[99].Duration, ts[99].ShuffleReadRecords = 10*time.Second, 1000
	ts[98].Duration, ts[98].ShuffleReadRecords = 4*time.Second, 400
	d, err := Diagnose(ts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Median != time.Second || d.P99 != 4*time.Second || d.Max != 10*time.Second || d.Slow != 2 {
		t.Errorf("median %v p99 %v max %v slow %d; want 1s 4s 10s 2", d.Median, d.P99, d.Max, d.Slow)
	}
	if d.Top().Cause != DataSkew {
		t.Errorf("top cause %q, want data skew", d.Top().Cause)
	}
	if _, err := Diagnose(nil); err != ErrNoTasks {
		t.Errorf("Diagnose(nil) = %v, want ErrNoTasks", err)
	}
}

func TestSpearmanIsOneForAMonotoneSeriesAndNaNForAConstant(t *testing.T) {
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{1, 4, 9, 100}); r != 1 {
		t.Errorf("monotone: %v, want 1", r)
	}
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); r != -1 {
		t.Errorf("reversed: %v, want -1", r)
	}
	if r := Spearman([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(r) {
		t.Errorf("constant: %v, want NaN", r)
	}
}

// TestLocalityIsBlamedWhenRemoteTasksAreTheSlowOnes uses made-up metrics:
// in the simulator, as on a real cluster, reading remotely costs little
// next to waiting for a local slot, which task durations do not show (the
// notebook measures that wait as stage time).
func TestLocalityIsBlamedWhenRemoteTasksAreTheSlowOnes(t *testing.T) {
	var ts []TaskMetrics
	for i := range 40 {
		m := TaskMetrics{Status: "SUCCESS", Host: "h" + string(rune('0'+i%4)), Locality: "NODE_LOCAL", Duration: time.Second, InputRecords: 1000, RunTime: time.Second}
		if i%10 == 0 {
			m.Locality, m.Duration = "ANY", 3*time.Second
		}
		ts = append(ts, m)
	}
	d, err := Diagnose(ts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Top().Cause != Locality || d.Top().Score < 0.9 {
		t.Errorf("top %+v, want poor locality with a score near 1", d.Top())
	}
}

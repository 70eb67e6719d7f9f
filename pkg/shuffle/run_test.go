package shuffle

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustRun(t *testing.T, c Config) *Result {
	t.Helper()
	r, err := Run(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func join() Config {
	c := Default()
	c.Kind = Join
	return c
}

func maxDuration(ts []TaskMetrics) time.Duration {
	var m time.Duration
	for _, t := range ts {
		m = max(m, t.Duration)
	}
	return m
}

func TestRunIsDeterministicForASeed(t *testing.T) {
	c := Default()
	c.Speculation.Enabled = true
	c.Faults = []Fault{{Kind: SlowHost, Host: 2, Factor: 4}, {Kind: LoseExecutor, Host: 5, At: 2 * time.Second}}
	a, b := mustRun(t, c), mustRun(t, c)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of one Config differ")
	}
	c.Seed = 2
	if d := mustRun(t, c); d.Wall == a.Wall {
		t.Errorf("seeds 1 and 2 gave the same wall time %v", a.Wall)
	}
}

func TestEveryShuffledRecordIsReadOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    func() Config
	}{
		{"aggregate without combine", Default},
		{"aggregate with map-side combine", func() Config { c := Default(); c.MapSideCombine = true; return c }},
		{"salted aggregate", func() Config { c := Default(); c.Salt = 8; return c }},
		{"sort-merge join with AQE splits", join},
		{"sort-merge join without AQE", func() Config { c := join(); c.AQE.Enabled = false; return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c()
			r := mustRun(t, c)
			var wrote, read int64
			for _, s := range r.Stages {
				for _, m := range Succeeded(s.Tasks) {
					wrote += m.ShuffleWriteRecords
					read += m.ShuffleReadRecords
				}
			}
			// a split partition's tasks each read the whole dim partition
			var replicated int64
			for _, sp := range r.Splits {
				for k, n := range c.Dim.Counts {
					if PartitionOf(k, c.ShufflePartitions) == sp.Partition {
						replicated += n * int64(sp.Parts-1)
					}
				}
			}
			if wrote == 0 || wrote+replicated != read {
				t.Errorf("map tasks wrote %d shuffle records (+%d replicated by splits), reduce tasks read %d", wrote, replicated, read)
			}
		})
	}
}

func TestTheSlowestReduceTaskHoldsTheHotKey(t *testing.T) {
	c := Default()
	c.AQE.Enabled = false
	r := mustRun(t, c)
	red := r.Successful("reduce")
	if len(red) != c.ShufflePartitions {
		t.Fatalf("%d reduce tasks, want one per shuffle partition (%d)", len(red), c.ShufflePartitions)
	}
	hot := PartitionOf(0, c.ShufflePartitions)
	var slowest TaskMetrics
	for _, m := range red {
		if m.Duration > slowest.Duration {
			slowest = m
		}
	}
	if slowest.Partition != hot {
		t.Errorf("the slowest reduce task is partition %d, the hot key 0 hashes to %d", slowest.Partition, hot)
	}
	if want := c.Fact.Counts[0]; slowest.ShuffleReadRecords < want {
		t.Errorf("it read %d records, fewer than key 0's %d rows", slowest.ShuffleReadRecords, want)
	}
}

func TestMapSideCombineShrinksTheShuffleAndTheTail(t *testing.T) {
	plain := mustRun(t, Default())
	c := Default()
	c.MapSideCombine = true
	comb := mustRun(t, c)
	bytes := func(r *Result) (n int64) {
		for _, m := range r.Successful("map") {
			n += m.ShuffleWriteBytes
		}
		return n
	}
	if bytes(comb)*10 > bytes(plain) {
		t.Errorf("combine shuffled %d bytes, want under a tenth of the %d without", bytes(comb), bytes(plain))
	}
	if comb.Wall >= plain.Wall {
		t.Errorf("combine took %v, no faster than %v without", comb.Wall, plain.Wall)
	}
}

func TestSaltingSpreadsTheHotKeyAtTheCostOfAStage(t *testing.T) {
	plain := mustRun(t, Default())
	c := Default()
	c.Salt = 16
	salted := mustRun(t, c)
	if len(salted.Stages) != len(plain.Stages)+1 {
		t.Errorf("salted job has %d stages, want %d (one more to merge the salts)", len(salted.Stages), len(plain.Stages)+1)
	}
	before, after := maxDuration(plain.Successful("reduce")), maxDuration(salted.Successful("partial (salted x16)"))
	if after*3 > before {
		t.Errorf("slowest task %v after salting, want under a third of %v", after, before)
	}
	// the merge stage reads one partial per (key, salt)
	var merged int64
	for _, m := range salted.Successful("merge salts") {
		merged += m.ShuffleReadRecords
	}
	if keys := int64(len(c.Fact.Counts)); merged < keys || merged > keys*16 {
		t.Errorf("merge read %d partial records; want between %d keys and %d (keys x salts)", merged, keys, keys*16)
	}
}

func TestAQESplitsTheSkewedJoinPartitionAndShortensTheStage(t *testing.T) {
	off := join()
	off.AQE.Enabled = false
	a, b := mustRun(t, off), mustRun(t, join())
	if len(b.Splits) == 0 {
		t.Fatal("AQE split nothing")
	}
	hot := PartitionOf(0, off.ShufflePartitions)
	if b.Splits[0].Partition != hot || b.Splits[0].Parts < 2 {
		t.Errorf("split %+v, want the hot partition %d in 2 or more parts", b.Splits[0], hot)
	}
	sa, _ := a.Stage("sort-merge join")
	sb, _ := b.Stage("sort-merge join")
	if sb.Time()*2 > sa.Time() {
		t.Errorf("join stage %v with AQE, want under half of %v without", sb.Time(), sa.Time())
	}
}

func TestAFullOuterJoinKeepsItsSkew(t *testing.T) {
	c := join()
	c.JoinType = FullOuter
	r := mustRun(t, c)
	if len(r.Splits) != 0 {
		t.Errorf("full outer join split %d partitions, want none", len(r.Splits))
	}
	if !strings.Contains(strings.Join(r.Notes, " "), "cannot split") {
		t.Errorf("notes %q do not say why", r.Notes)
	}
}

func TestBroadcastSkipsTheShuffleAndRefusesWhatDoesNotFit(t *testing.T) {
	c := join()
	c.Strategy = Broadcast
	r := mustRun(t, c)
	if r.BroadcastBytes != c.Dim.Bytes() {
		t.Errorf("broadcast %d bytes, want the dim's %d", r.BroadcastBytes, c.Dim.Bytes())
	}
	for _, s := range r.Stages {
		for _, m := range s.Tasks {
			if m.ShuffleReadBytes > 0 {
				t.Fatalf("stage %q read shuffle data in a broadcast join", s.Name)
			}
		}
	}
	if r.Wall >= mustRun(t, join()).Wall {
		t.Errorf("broadcast join %v is no faster than the sort-merge join", r.Wall)
	}
	c.Dim, _ = Uniform(100_000, 200, 200) // 4 GB
	if _, err := Run(c); err == nil || !strings.Contains(err.Error(), "OutOfMemoryError") {
		t.Errorf("broadcasting 4 GB returned %v, want an out-of-memory refusal", err)
	}
}

func TestSpeculationHelpsAStragglerHostButNotDataSkew(t *testing.T) {
	flat, _ := Zipf(20_000_000, 100_000, 0.5, 100)
	for _, tc := range []struct {
		name   string
		setup  func(*Config)
		helps  bool
		copies bool
	}{
		{"a host 5x slower: copies elsewhere finish first", func(c *Config) {
			// 16 hosts: the slow one holds 1/16 of the tasks, under the
			// 10% that quantile 0.9 leaves unfinished
			c.Cluster.Executors = 16
			c.Fact = flat
			c.Faults = []Fault{{Kind: SlowHost, Host: 3, Factor: 5}}
		}, true, true},
		{"a hot key: the copy has the same data, the job is no faster", func(c *Config) { c.AQE.Coalesce = false }, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.setup(&c)
			off := mustRun(t, c)
			c.Speculation.Enabled = true
			on := mustRun(t, c)
			faster := on.Wall < off.Wall*9/10
			if faster != tc.helps {
				t.Errorf("wall %v with speculation, %v without: faster by 10%% = %v, want %v", on.Wall, off.Wall, faster, tc.helps)
			}
			if tc.copies && on.CopyWins == 0 {
				t.Errorf("%d copies launched, none won", on.Copies)
			}
		})
	}
}

func TestLosingAnExecutorRecomputesItsMapOutputUnlessTheShuffleServiceKeepsIt(t *testing.T) {
	for _, ess := range []bool{false, true} {
		c := Default()
		c.ShuffleService = ess
		base := mustRun(t, c)
		mapEnd := base.Stages[0].End
		c.Faults = []Fault{{Kind: LoseExecutor, Host: 1, At: mapEnd + 100*time.Millisecond}}
		r := mustRun(t, c)
		fetchFailed := 0
		for _, s := range r.Stages {
			for _, m := range s.Tasks {
				if strings.HasPrefix(m.Error, "FetchFailed") {
					fetchFailed++
				}
			}
		}
		if ess && (r.Recomputed != 0 || fetchFailed != 0) {
			t.Errorf("with the shuffle service: %d map tasks recomputed, %d FetchFailed; want 0 and 0", r.Recomputed, fetchFailed)
		}
		if !ess && (r.Recomputed == 0 || fetchFailed == 0 || r.Wall <= base.Wall) {
			t.Errorf("without the shuffle service: %d recomputed, %d FetchFailed, wall %v vs %v; want both > 0 and a longer job", r.Recomputed, fetchFailed, r.Wall, base.Wall)
		}
		if got := len(r.Successful("reduce")); got != len(base.Successful("reduce")) {
			t.Errorf("shuffle service %v: %d reduce partitions succeeded, want %d", ess, got, len(base.Successful("reduce")))
		}
	}
}

func TestBadConfigsAreOneClearError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		says   string
	}{
		{"zero executors", func(c *Config) { c.Cluster.Executors = 0 }, "executors"},
		{"negative key count", func(c *Config) { c.Fact.Counts[3] = -1 }, "negative count"},
		{"an empty job", func(c *Config) { c.Fact.Counts = nil }, "empty job"},
		{"factor below 1", func(c *Config) { c.AQE.SkewedPartitionFactor = 0.5 }, "below 1"},
		{"quantile outside (0, 1]", func(c *Config) { c.Speculation.Enabled = true; c.Speculation.Quantile = 0 }, "outside (0, 1]"},
		{"a fault on a host that does not exist", func(c *Config) { c.Faults = []Fault{{Kind: SlowHost, Host: 99, Factor: 2}} }, "not one of"},
		{"memory under Spark's reserve", func(c *Config) { c.Cluster.Memory = 100 * MB }, "reserves"},
		{"zero shuffle partitions", func(c *Config) { c.ShufflePartitions = 0 }, "shuffle partitions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Fact.Counts = append([]int64(nil), c.Fact.Counts...)
			tc.mutate(&c)
			_, err := Run(c)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Run = %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

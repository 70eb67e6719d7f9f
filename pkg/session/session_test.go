package session_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/session"
	"github.com/dsgym/dsgym/pkg/sim"
	sol "github.com/dsgym/dsgym/solutions/session"
)

var ref = session.Impl{Route: sol.RouteRead, CheckRYW: sol.CheckReadYourWrites}

const ms = time.Millisecond

func run(t testing.TB, cfg session.Config) *session.Outcome {
	t.Helper()
	o, err := session.Run(cfg, ref)
	if err != nil {
		t.Fatalf("Run(%s, seed %d): %v", cfg.Strategy, cfg.Seed, err)
	}
	return o
}

// failoverTo returns the default run with eu-west-2 lagging lag and
// eu-west-1 crashing at 3 s for good (fast failover: connections refused).
func failoverTo(strategy session.Strategy, lag time.Duration) session.Config {
	cfg := session.Default()
	cfg.Strategy, cfg.Ops = strategy, 3000
	cfg.ClientRegions = []sim.Region{sim.EUWest}
	cfg.ReplicaLag = []time.Duration{0, 100 * ms, 100 * ms, lag, 100 * ms}
	cfg.Crashes = []session.Crash{{Replica: 2, At: 3 * time.Second}}
	return cfg
}

// TestStrategiesAgainstTheCheckers runs each strategy where it should keep
// a guarantee and where it is known to break it, and asks the checkers:
// the known-bad runs must be flagged, the good ones must come out clean.
func TestStrategiesAgainstTheCheckers(t *testing.T) {
	with := func(s session.Strategy, f func(*session.Config)) session.Config {
		cfg := session.Default()
		cfg.Strategy, cfg.Ops, cfg.Lag = s, 3000, 200*ms
		if f != nil {
			f(&cfg)
		}
		return cfg
	}
	tests := []struct {
		name    string
		cfg     session.Config
		ryw, mr bool // whether violations are expected
	}{
		{"no strategy breaks read-your-writes and monotonic reads under lag", with(session.None, nil), true, true},
		{"no strategy with no lag and one replica per region keeps both", with(session.None, func(c *session.Config) {
			c.Lag, c.Replicas = 0, []sim.Region{sim.USEast, sim.EUWest, sim.APSoutheast}
		}), false, false},
		{"sticky sessions keep both while their replica lives", with(session.Sticky, nil), false, false},
		{"a write token keeps read-your-writes (but not monotonic reads of others' writes)", with(session.Token, nil), false, true},
		{"a token that also carries what the session read keeps monotonic reads too", with(session.Token, func(c *session.Config) { c.TokenTracksReads = true }), false, false},
		{"a client cache that outlives the lag keeps read-your-writes", with(session.Cache, nil), false, true},
		{"a client cache shorter than the lag breaks read-your-writes", with(session.Cache, func(c *session.Config) { c.CacheTTL, c.Lag = 50*ms, 400*ms }), true, true},
		{"a client cache that forgets on the first caught-up replica breaks read-your-writes", with(session.Cache, func(c *session.Config) { c.CacheEvictEarly = true }), true, true},
		{"reading the primary after a write keeps read-your-writes within its window", with(session.PrimaryAfterWrite, func(c *session.Config) { c.Lag = 100 * ms }), false, false},
		{"reading the primary after a write breaks read-your-writes when the lag outgrows the window", with(session.PrimaryAfterWrite, func(c *session.Config) { c.Lag, c.PrimaryWindow = 1500*ms, time.Second }), true, true},
		{"sticky sessions break read-your-writes when they fail over to a lagging replica", failoverTo(session.Sticky, 1200*ms), true, true},
		{"a write token survives the same failover", failoverTo(session.Token, 1200*ms), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, tt.cfg)
			s := o.Summary
			if got := s.Violations[session.ReadYourWrites] > 0; got != tt.ryw {
				t.Errorf("read-your-writes violations: %d; want some: %v", s.Violations[session.ReadYourWrites], tt.ryw)
			}
			if got := s.Violations[session.MonotonicReads] > 0; got != tt.mr {
				t.Errorf("monotonic-read violations: %d; want some: %v", s.Violations[session.MonotonicReads], tt.mr)
			}
			// One primary orders every write: these two always hold.
			if n := s.Violations[session.MonotonicWrites] + s.Violations[session.WritesFollowReads]; n != 0 {
				t.Errorf("%d monotonic-writes or writes-follow-reads violations with a single primary", n)
			}
			if s.Ops != tt.cfg.Ops {
				t.Errorf("%d operations in the history, want %d", s.Ops, tt.cfg.Ops)
			}
		})
	}
}

func TestMoreLagMeansMoreViolationsWithoutAStrategy(t *testing.T) {
	prev := -1.0
	for _, lag := range []time.Duration{0, 100 * ms, 400 * ms, 1600 * ms} {
		cfg := session.Default()
		cfg.Lag, cfg.Ops = lag, 3000
		rate := run(t, cfg).Summary.RYWRate
		if rate <= prev {
			t.Errorf("lag %v: violation rate %.3f, not above %.3f at the previous lag", lag, rate, prev)
		}
		prev = rate
	}
}

func TestStrategiesPayWhereTheSeedSaysTheyPay(t *testing.T) {
	cfg := session.Default()
	cfg.Lag = 400 * ms
	sum := map[session.Strategy]session.Summary{}
	for _, s := range session.Strategies {
		cfg.Strategy = s
		sum[s] = run(t, cfg).Summary
	}
	t.Run("a write token raises read latency and moves reads to the primary", func(t *testing.T) {
		if sum[session.Token].ReadP99 <= 2*sum[session.None].ReadP99 || sum[session.Token].PrimaryReadShare <= sum[session.None].PrimaryReadShare {
			t.Errorf("token p99 %v, primary share %.2f; none p99 %v, primary share %.2f", sum[session.Token].ReadP99, sum[session.Token].PrimaryReadShare, sum[session.None].ReadP99, sum[session.None].PrimaryReadShare)
		}
	})
	t.Run("sticky sessions move the lag into their writes", func(t *testing.T) {
		if sum[session.Sticky].WriteP50 < sum[session.None].WriteP50+cfg.Lag/2 {
			t.Errorf("sticky write p50 %v, none %v: want at least half the lag more", sum[session.Sticky].WriteP50, sum[session.None].WriteP50)
		}
	})
	t.Run("reading the primary after writes loads the primary", func(t *testing.T) {
		if sum[session.PrimaryAfterWrite].PrimaryReadShare < 0.5 {
			t.Errorf("primary share %.2f, want most reads", sum[session.PrimaryAfterWrite].PrimaryReadShare)
		}
	})
	t.Run("the client cache answers some reads itself and costs no latency", func(t *testing.T) {
		if sum[session.Cache].CacheAnswers == 0 || sum[session.Cache].ReadP99 != sum[session.None].ReadP99 {
			t.Errorf("cache answers %d, read p99 %v (none: %v)", sum[session.Cache].CacheAnswers, sum[session.Cache].ReadP99, sum[session.None].ReadP99)
		}
	})
}

func TestFailover(t *testing.T) {
	t.Run("a refused connection is retried elsewhere, so fast failover loses no operation", func(t *testing.T) {
		for _, s := range []session.Strategy{session.None, session.Token, session.Cache} {
			if f := run(t, failoverTo(s, 100*ms)).Summary.Failed; f > 5 {
				t.Errorf("%s: %d failed operations; only those in flight at the crash may fail", s, f)
			}
		}
	})
	t.Run("an unreachable replica makes operations time out until it is suspected", func(t *testing.T) {
		cfg := failoverTo(session.None, 100*ms)
		cfg.Crashes[0].Silent = true
		o := run(t, cfg)
		timeouts := 0
		for _, op := range o.History {
			if strings.HasPrefix(op.Err, "timeout") {
				timeouts++
				if op.End-op.Start != cfg.Timeout {
					t.Errorf("a timed-out op took %v, want the timeout %v", op.End-op.Start, cfg.Timeout)
				}
			}
		}
		if timeouts == 0 {
			t.Error("no operation timed out")
		}
	})
	t.Run("sticky sessions are pinned again after losing their replica", func(t *testing.T) {
		o := run(t, failoverTo(session.Sticky, 100*ms))
		if o.Repins == 0 {
			t.Error("no session was pinned again")
		}
		if o.ReadsServed[2] == 0 || o.ReadsServed[3] == 0 {
			t.Errorf("reads served %v: both eu-west replicas should have served reads", o.ReadsServed)
		}
	})
	t.Run("with every replica down for good, every operation fails and the run still ends", func(t *testing.T) {
		for _, silent := range []bool{false, true} {
			for _, s := range session.Strategies {
				cfg := session.Default()
				cfg.Strategy, cfg.Ops = s, 300
				for i := range cfg.Replicas {
					cfg.Crashes = append(cfg.Crashes, session.Crash{Replica: i, At: 100 * ms, Silent: silent})
				}
				o := run(t, cfg)
				late := 0
				for _, op := range o.History {
					if op.OK() && op.Start > 200*ms {
						late++
					}
				}
				if late > 0 {
					t.Errorf("%s (silent %v): %d operations succeeded with every replica down", s, silent, late)
				}
			}
		}
	})
	t.Run("with the primary down, writes fail and the run still ends", func(t *testing.T) {
		cfg := session.Default()
		cfg.Ops = 1000
		cfg.Crashes = []session.Crash{{Replica: 0, At: time.Second, For: 2 * time.Second}}
		s := run(t, cfg).Summary
		if s.Failed == 0 || s.Availability > 0.99 {
			t.Errorf("%d failed ops, availability %.3f: writes should fail while the primary is down", s.Failed, s.Availability)
		}
	})
}

func TestSameSeedSameRunAndSeedsMatter(t *testing.T) {
	cfg := session.Default()
	cfg.Ops, cfg.Strategy = 1500, session.Token
	cfg.Crashes = []session.Crash{{Replica: 3, At: time.Second, For: time.Second}}
	a, b := run(t, cfg), run(t, cfg)
	if fmt.Sprint(a.History) != fmt.Sprint(b.History) {
		t.Error("two runs with the same seed gave different histories")
	}
	cfg.Seed = 2
	if fmt.Sprint(run(t, cfg).History) == fmt.Sprint(a.History) {
		t.Error("seeds 1 and 2 gave the same history")
	}
}

func TestBadConfigurationsAreErrorsNotPanics(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*session.Config)
		want string
	}{
		{"an unknown strategy", func(c *session.Config) { c.Strategy = "magic" }, "unknown strategy"},
		{"no replicas", func(c *session.Config) { c.Replicas = nil }, "between 1 and 64 replicas"},
		{"a million sessions", func(c *session.Config) { c.Sessions = 1_000_000 }, "between 1 and 10000 sessions"},
		{"a billion keys", func(c *session.Config) { c.OwnKeys = 1_000_000_000 }, "keys must be in 0..100000"},
		{"a nanosecond heartbeat", func(c *session.Config) { c.Heartbeat = time.Nanosecond }, "at least 1ms"},
		{"an unknown region", func(c *session.Config) { c.Replicas = []sim.Region{"moon"} }, "unknown region"},
		{"no sessions", func(c *session.Config) { c.Sessions = 0 }, "between 1 and 10000 sessions"},
		{"no client regions", func(c *session.Config) { c.ClientRegions = nil }, "no client regions"},
		{"negative ops", func(c *session.Config) { c.Ops = -1 }, "ops must not be negative"},
		{"no keys", func(c *session.Config) { c.OwnKeys, c.SharedKeys = 0, 0 }, "at least one key"},
		{"a write fraction above 1", func(c *session.Config) { c.WriteFraction = 1.5 }, "WriteFraction"},
		{"a negative lag", func(c *session.Config) { c.Lag = -ms }, "Lag must not be negative"},
		{"a negative latency jitter", func(c *session.Config) { c.NetJitter = -0.1 }, "NetJitter"},
		{"per-replica lags of the wrong length", func(c *session.Config) { c.ReplicaLag = []time.Duration{ms} }, "ReplicaLag has 1 entries"},
		{"a zero timeout", func(c *session.Config) { c.Timeout = 0 }, "at least 1ms"},
		{"a crash of a replica that does not exist", func(c *session.Config) { c.Crashes = []session.Crash{{Replica: 9}} }, "names replica 9"},
		{"a crash at a negative time", func(c *session.Config) { c.Crashes = []session.Crash{{At: -time.Second}} }, "negative time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := session.Default()
			tt.mod(&cfg)
			_, err := session.Run(cfg, ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	t.Run("the write-token strategy without a router", func(t *testing.T) {
		cfg := session.Default()
		cfg.Strategy = session.Token
		if _, err := session.Simulate(cfg, nil); err == nil || !strings.Contains(err.Error(), "needs a RouteFunc") {
			t.Errorf("Simulate = %v, want an error asking for a RouteFunc", err)
		}
	})
}

func TestABrokenRouterFailsTheRunWithASentence(t *testing.T) {
	tests := []struct {
		name  string
		route session.RouteFunc
		want  string
	}{
		{"one that panics", func(uint64, []session.ReplicaView, time.Duration) (session.Route, error) { panic("oops") }, "panicked: oops"},
		{"one that returns a replica outside the view", func(uint64, []session.ReplicaView, time.Duration) (session.Route, error) {
			return session.Route{Replica: 42}, nil
		}, "chose replica 42"},
		{"one that returns a negative wait", func(uint64, []session.ReplicaView, time.Duration) (session.Route, error) {
			return session.Route{Wait: -time.Second}, nil
		}, "negative wait"},
		{"one that returns another error", func(uint64, []session.ReplicaView, time.Duration) (session.Route, error) {
			return session.Route{}, errors.New("lost my map")
		}, "lost my map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := session.Default()
			cfg.Strategy, cfg.Ops = session.Token, 200
			_, err := session.Simulate(cfg, tt.route)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Simulate = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	t.Run("ErrNoReplica fails the read, not the run", func(t *testing.T) {
		cfg := session.Default()
		cfg.Strategy, cfg.Ops = session.Token, 200
		res, err := session.Simulate(cfg, func(uint64, []session.ReplicaView, time.Duration) (session.Route, error) {
			return session.Route{}, fmt.Errorf("none: %w", session.ErrNoReplica)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range res.History {
			if op.Kind == session.Read && op.OK() {
				t.Fatalf("a read succeeded with a router that never routes: %v", op)
			}
		}
	})
}

func TestTimelineCountsEveryOperationOnce(t *testing.T) {
	cfg := failoverTo(session.Sticky, 1200*ms)
	o := run(t, cfg)
	tl, err := o.Timeline(500 * ms)
	if err != nil {
		t.Fatal(err)
	}
	ops, ryw := 0, 0
	for _, b := range tl {
		ops += b.Ops
		ryw += b.RYW
	}
	if ops != len(o.History) || ryw != o.Report.Count(session.ReadYourWrites) {
		t.Errorf("timeline holds %d ops and %d violations; the run has %d and %d", ops, ryw, len(o.History), o.Report.Count(session.ReadYourWrites))
	}
	if _, err := o.Timeline(0); err == nil {
		t.Error("a zero bucket width should be an error")
	}
}

func TestStoryShowsTheViolationAndItsCures(t *testing.T) {
	tests := []struct {
		strategy  session.Strategy
		stale     bool
		inDiagram string
	}{
		{session.None, true, "eu_west_1->>s00: [82.0ms] v0 (applied v0)"},
		{session.Token, false, "not yet (applied v0)"},
		{session.Sticky, false, "eu_west_1->>us_east_1"},
		{session.Cache, false, "v0 (applied v0)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.strategy), func(t *testing.T) {
			h, diagram, err := session.Story(session.DefaultStory(tt.strategy), sol.RouteRead)
			if err != nil {
				t.Fatal(err)
			}
			if stale := len(sol.CheckReadYourWrites(h)) > 0; stale != tt.stale {
				t.Errorf("read-your-writes broken: %v, want %v; history %v", stale, tt.stale, h)
			}
			if !strings.Contains(diagram, tt.inDiagram) || strings.Contains(diagram, "heartbeat") {
				t.Errorf("the diagram should show %q and no heartbeats:\n%s", tt.inDiagram, diagram)
			}
		})
	}
	if _, _, err := session.Story(session.StoryConfig{Strategy: session.None}, nil); err == nil {
		t.Error("a story with no steps should be an error")
	}
	sc := session.DefaultStory(session.None)
	sc.Script = append(sc.Script, session.Step{Kind: session.Read})
	if _, _, err := session.Story(sc, nil); err == nil {
		t.Error("a step with no key should be an error")
	}
}

// BenchmarkSimulate10kOps is the budget: a 10,000-operation session
// workload over 5 replicas simulates in at most 0.5 s (warm). Each
// iteration times three runs and keeps the median, so one descheduled run
// on a shared machine does not decide the figure; the figure is the worst
// such median.
func BenchmarkSimulate10kOps(b *testing.B) {
	cfg := session.Default()
	cfg.Ops, cfg.Strategy = 10000, session.Token
	if len(cfg.Replicas) != 5 {
		b.Fatalf("the budget is for 5 replicas, the default has %d", len(cfg.Replicas))
	}
	if _, err := session.Simulate(cfg, sol.RouteRead); err != nil { // warm up
		b.Fatal(err)
	}
	var worst time.Duration
	for b.Loop() {
		var runs []time.Duration
		for range 3 {
			start := time.Now()
			res, err := session.Simulate(cfg, sol.RouteRead)
			if err != nil {
				b.Fatal(err)
			}
			runs = append(runs, time.Since(start))
			if len(res.History) != cfg.Ops {
				b.Fatalf("%d ops, want %d", len(res.History), cfg.Ops)
			}
		}
		worst = max(worst, session.Percentile(runs, 50))
	}
	budget.AtMost(b, "s/10k-ops", worst.Seconds(), 0.5)
}

// BenchmarkCheck10kOps checks the history of that workload against the
// four session guarantees (median of three, as above).
func BenchmarkCheck10kOps(b *testing.B) {
	cfg := session.Default()
	cfg.Ops, cfg.Lag = 10000, 300*ms
	res, err := session.Simulate(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	var worst time.Duration
	for b.Loop() {
		var runs []time.Duration
		for range 3 {
			start := time.Now()
			rep, err := res.Check(sol.CheckReadYourWrites)
			if err != nil {
				b.Fatal(err)
			}
			runs = append(runs, time.Since(start))
			if rep.Count(session.ReadYourWrites) == 0 {
				b.Fatal("no violation found in a lagging run without a strategy")
			}
		}
		worst = max(worst, session.Percentile(runs, 50))
	}
	budget.AtMost(b, "s/10k-ops", worst.Seconds(), 0.05)
}

func TestRunAllMatchesRunningOneByOne(t *testing.T) {
	base := session.Default()
	base.Ops = 800
	cfgs := session.ForStrategies(base, session.Strategies)
	all, err := session.RunAll(cfgs, ref)
	if err != nil {
		t.Fatal(err)
	}
	for i, cfg := range cfgs {
		one := run(t, cfg)
		if fmt.Sprint(one.History) != fmt.Sprint(all[i].History) || all[i].Summary.Strategy != cfg.Strategy {
			t.Errorf("run %d (%s) differs when run with the others", i, cfg.Strategy)
		}
	}
	bad := append(cfgs, session.Config{})
	if _, err := session.RunAll(bad, ref); err == nil || !strings.Contains(err.Error(), "run 5") {
		t.Errorf("RunAll with a bad configuration = %v, want an error naming run 5", err)
	}
}

func TestADurationStopsNewOperationsAtThatTime(t *testing.T) {
	cfg := session.Default()
	cfg.Ops, cfg.Duration = 1_000_000, 3*time.Second
	o := run(t, cfg)
	for _, op := range o.History {
		if op.Start >= cfg.Duration {
			t.Fatalf("an operation started at %v, after the run's %v", op.Start, cfg.Duration)
		}
	}
	if len(o.History) < 100 || o.End > cfg.Duration+cfg.Timeout {
		t.Errorf("%d ops ending at %v: want a steady run that stops soon after %v", len(o.History), o.End, cfg.Duration)
	}
}

// TestTheFailoverPresetShowsWhatTheNotebookSays protects the prose of the
// notebook's Claim 4: sticky sessions break read-your-writes right after
// the crash and not before; the token never does; the cache breaks it only
// when the crashed replica rejoins before catching up.
func TestTheFailoverPresetShowsWhatTheNotebookSays(t *testing.T) {
	cfg := session.Failover()
	crash, back := cfg.Crashes[0].At, cfg.Crashes[0].At+cfg.Crashes[0].For
	runs, err := session.RunAll(session.ForStrategies(cfg, session.Strategies), ref)
	if err != nil {
		t.Fatal(err)
	}
	count := func(o *session.Outcome, from, to time.Duration) int {
		n := 0
		for _, v := range o.Report.Violations[session.ReadYourWrites] {
			if end := o.History[v.Op].End; end >= from && end < to {
				n++
			}
		}
		return n
	}
	for _, o := range runs {
		before, during, after := count(o, 0, crash), count(o, crash, crash+3*time.Second), count(o, back, time.Hour)
		switch o.Summary.Strategy {
		case session.Sticky:
			if before != 0 || during == 0 {
				t.Errorf("sticky: %d violations before the crash, %d in the 3 s after; want none, then some", before, during)
			}
		case session.Token:
			if before+during+after != 0 || o.Summary.Failed != 0 {
				t.Errorf("write-token: %d violations, %d failed ops; want none", before+during+after, o.Summary.Failed)
			}
		case session.Cache:
			if before+during != 0 || after == 0 {
				t.Errorf("client-cache: %d violations before the restart, %d after; want none, then some", before+during, after)
			}
		case session.None:
			if before == 0 || during == 0 || after == 0 {
				t.Errorf("none: violations %d / %d / %d; want some all along", before, during, after)
			}
		}
	}
	if ok := (session.Report{}).OK(); !ok {
		t.Error("an empty report should be OK")
	}
}

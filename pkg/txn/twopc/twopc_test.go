package twopc_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

func rules() twopc.Rules {
	return twopc.Rules{Recover: ref.ParticipantRecovery, Phase2: ref.Phase2, Terminate: ref.Terminate}
}

func run(t *testing.T, cfg twopc.Config) *twopc.Result {
	t.Helper()
	r, err := twopc.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAFailureFreeRunCommitsEverywhere(t *testing.T) {
	cfg := twopc.Default(rules())
	r := run(t, cfg)
	if got := r.Outcome(0); got != "COMMIT" {
		t.Fatalf("outcome = %s, want COMMIT", got)
	}
	if v := r.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	// PREPARE, vote, decision and ACK for each of 3 participants.
	if r.Messages.Sent != 12 {
		t.Errorf("%d messages, want 12", r.Messages.Sent)
	}
	if b := r.Blocked(); b <= 0 || b > 10*time.Millisecond {
		t.Errorf("blocked %v; want a few milliseconds (one round trip and an fsync)", b)
	}
	if r.Txns[0].Decided <= 0 {
		t.Errorf("decided at %v; want a positive time", r.Txns[0].Decided)
	}
	if !slices.Equal(r.Txns[0].CoordinatorLog, []twopc.Kind{twopc.Committed, twopc.Ended}) {
		t.Errorf("coordinator log %v, want [COMMITTED ENDED]", r.Txns[0].CoordinatorLog)
	}
}

func TestANoVoteAbortsEverywhereWithoutACoordinatorRecord(t *testing.T) {
	cfg := twopc.Default(rules())
	cfg.VoteNo = []string{"billing"}
	r := run(t, cfg)
	if got := r.Outcome(0); got != "ABORT" {
		t.Fatalf("outcome = %s, want ABORT", got)
	}
	if len(r.Txns[0].CoordinatorLog) != 0 {
		t.Errorf("coordinator log %v; presumed abort writes nothing", r.Txns[0].CoordinatorLog)
	}
	if v := r.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestACoordinatorThatDiesAfterPrepareBlocksEveryoneForItsDowntime(t *testing.T) {
	for _, down := range []time.Duration{0, time.Second, 10 * time.Second, 45 * time.Second} {
		for _, coop := range []bool{false, true} {
			t.Run(fmt.Sprintf("down %v, cooperative %v", down, coop), func(t *testing.T) {
				cfg := twopc.Default(rules())
				cfg.Cooperative = coop
				cfg.Crashes = []twopc.Crash{twopc.CoordinatorAfterPrepare(3, down)}
				r := run(t, cfg)
				b := r.Blocked()
				// Every participant is in doubt and none knows more than the
				// others: they wait for the coordinator, and learn the outcome
				// at their next question (at most 4 QueryIntervals apart).
				if b < down || b > down+4*cfg.QueryInterval+10*time.Millisecond {
					t.Errorf("blocked %v; want between the downtime %v and 4 query intervals more", b, down)
				}
				if got := r.Outcome(0); got != "ABORT" {
					t.Errorf("outcome %s; a coordinator that recovers without a decision presumes ABORT", got)
				}
				if v := r.Violations(); len(v) > 0 {
					t.Errorf("violations: %v", v)
				}
			})
		}
	}
}

func TestCooperativeTerminationEndsTheDoubtOnlyWhenAPeerKnows(t *testing.T) {
	tests := []struct {
		name        string
		crash       twopc.Crash
		cooperative bool
		maxBlocked  time.Duration
		minBlocked  time.Duration
		want        string
	}{
		{"after the first COMMIT, without it", twopc.CoordinatorAfterFirstDecision(3, 20*time.Second), false, 21 * time.Second, 20 * time.Second, "COMMIT"},
		// (the restarted coordinator resends COMMIT at once: no waiting
		// for the participants' next question)
		{"after the first COMMIT, with it", twopc.CoordinatorAfterFirstDecision(3, 20*time.Second), true, time.Second, 0, "COMMIT"},
		{"after logging COMMIT, with it: all in doubt", twopc.CrashAfter(twopc.Coordinator, 4, 20*time.Second), true, 21 * time.Second, 20 * time.Second, "COMMIT"},
		{"after PREPARE, with it: all in doubt", twopc.CoordinatorAfterPrepare(3, 20*time.Second), true, 22 * time.Second, 20 * time.Second, "ABORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := twopc.Default(rules())
			cfg.Cooperative = tt.cooperative
			cfg.Crashes = []twopc.Crash{tt.crash}
			r := run(t, cfg)
			if b := r.Blocked(); b > tt.maxBlocked || b < tt.minBlocked {
				t.Errorf("blocked %v; want between %v and %v", b, tt.minBlocked, tt.maxBlocked)
			}
			if got := r.Outcome(0); got != tt.want {
				t.Errorf("outcome %s, want %s", got, tt.want)
			}
			if v := r.Violations(); len(v) > 0 {
				t.Errorf("violations: %v", v)
			}
		})
	}
}

func TestACrashAtEveryStepOfEveryNodeKeepsAtomicity(t *testing.T) {
	nc, np := twopc.CrashPoints(3)
	for _, node := range append([]string{twopc.Coordinator}, twopc.DefaultParticipants...) {
		steps := np
		if node == twopc.Coordinator {
			steps = nc
		}
		for k := 0; k <= steps+1; k++ {
			for _, coop := range []bool{false, true} {
				for _, voteNo := range []bool{false, true} {
					cfg := twopc.Default(rules())
					cfg.Cooperative = coop
					cfg.Crashes = []twopc.Crash{twopc.CrashAfter(node, k, 7*time.Second)}
					if voteNo {
						cfg.VoteNo = []string{"inventory"}
					}
					r := run(t, cfg)
					if v := r.Violations(); len(v) > 0 {
						t.Errorf("%s crashing after %d effects (cooperative %v, inventory votes NO %v): %v", node, k, coop, voteNo, v)
					}
				}
			}
		}
	}
}

func TestRandomCrashesWithLossAndDuplicatesKeepAtomicity(t *testing.T) {
	for i := 0; i < 600; i++ {
		cfg := twopc.Default(rules())
		cfg.Seed = uint64(i)
		cfg.Cooperative = i%2 == 0
		cfg.Link.Drop, cfg.Link.Duplicate, cfg.Link.FIFO = 0.05, 0.05, false
		rng := sim.NewRand(cfg.Seed, "test")
		c1, _ := twopc.RandomCrash(rng, cfg.Participants, 20*time.Second)
		c2, _ := twopc.RandomCrash(rng, cfg.Participants, 20*time.Second)
		cfg.Crashes = []twopc.Crash{c1}
		if c2.Node != c1.Node {
			cfg.Crashes = append(cfg.Crashes, c2)
		}
		r := run(t, cfg)
		if v := r.Violations(); len(v) > 0 {
			t.Fatalf("seed %d, crashes %v: %v", i, cfg.Crashes, v)
		}
	}
}

// The checker must catch broken protocols, not only bless correct ones.
func TestTheAtomicityCheckerCatchesBrokenRules(t *testing.T) {
	sendsFirst := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		es, err := ref.Phase2(parts, v)
		if err == nil && len(es) > 0 && es[0].Kind == twopc.LogDecision {
			es = append(es[1:], es[0])
		}
		return es, err
	}
	forgetsPrepared := func(log []twopc.Kind) (twopc.Recovery, error) {
		r, err := ref.ParticipantRecovery(log)
		if r == twopc.RecoverInDoubt {
			return twopc.RecoverAbort, err
		}
		return r, err
	}
	splitDecision := func(parts []string, v map[string]twopc.Vote) ([]twopc.Effect, error) {
		return []twopc.Effect{twopc.Log(twopc.Commit), twopc.Send(parts[0], twopc.Commit), twopc.Send(parts[1], twopc.Abort), twopc.Send(parts[2], twopc.Abort)}, nil
	}
	failing := func([]string, map[string]twopc.Vote) ([]twopc.Effect, error) { return nil, errors.New("cannot decide") }
	tests := []struct {
		name  string
		mod   func(*twopc.Rules)
		crash []twopc.Crash
		want  string
	}{
		{"COMMIT sent before it is logged", func(r *twopc.Rules) { r.Phase2 = sendsFirst },
			[]twopc.Crash{twopc.CrashAfter(twopc.Coordinator, 4, 5*time.Second)}, "mixed outcome"},
		{"a prepared transaction forgotten on restart", func(r *twopc.Rules) { r.Recover = forgetsPrepared },
			[]twopc.Crash{twopc.CrashAfter("order", 2, 5*time.Second)}, "mixed outcome"},
		{"different decisions to different participants", func(r *twopc.Rules) { r.Phase2 = splitDecision }, nil, "mixed outcome"},
		{"a coordinator whose rule fails leaves everyone in doubt", func(r *twopc.Rules) { r.Phase2 = failing }, nil, "in doubt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rules()
			tt.mod(&rs)
			cfg := twopc.Default(rs)
			cfg.Crashes = tt.crash
			cfg.Horizon = time.Minute
			r := run(t, cfg)
			v := strings.Join(r.Violations(), " | ")
			if !strings.Contains(v, tt.want) {
				t.Errorf("violations %q; want one mentioning %q", v, tt.want)
			}
		})
	}
}

func TestAStuckRunNamesTheVirtualTimeAndTheStuckNodes(t *testing.T) {
	rs := rules()
	rs.Phase2 = func([]string, map[string]twopc.Vote) ([]twopc.Effect, error) { return nil, errors.New("no idea") }
	cfg := twopc.Default(rs)
	cfg.Horizon = 30 * time.Second
	r := run(t, cfg)
	var stuck *twopc.StuckError
	if !errors.As(r.Stuck, &stuck) {
		t.Fatalf("Stuck = %v, want a *StuckError", r.Stuck)
	}
	if stuck.At != 30*time.Second {
		t.Errorf("stuck at %v, want the horizon 30s", stuck.At)
	}
	msg := stuck.Error()
	for _, want := range []string{"virtual time 30s", "order is in doubt", "billing is in doubt", "coordinator stalled"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

func TestLockWaitersQueueBehindAPreparedTransaction(t *testing.T) {
	cfg := twopc.Default(rules())
	cfg.Crashes = []twopc.Crash{twopc.CoordinatorAfterPrepare(3, 5*time.Second)}
	c, err := twopc.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"o1", "sku-7", "a1"}
	if _, err := c.Begin(twopc.Txn{Keys: keys}); err != nil {
		t.Fatal(err)
	}
	// The coordinator is back at 5 s; the first transaction's participants
	// ask next at about 5.5 s. A second transaction that wants the same
	// inventory row at 5.3 s waits behind the lock, and commits once the
	// first is resolved (within its 300 ms vote timeout).
	c.Sim().At(5300*time.Millisecond, func() {
		if _, err := c.Begin(twopc.Txn{Keys: []string{"o2", "sku-7", "a2"}}); err != nil {
			t.Error(err)
		}
	})
	r := c.Finish()
	if v := r.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	if r.Outcome(0) != "ABORT" || r.Outcome(1) != "COMMIT" {
		t.Errorf("outcomes %s, %s; want ABORT (presumed) then COMMIT", r.Outcome(0), r.Outcome(1))
	}
	if held := r.Txns[0].LockHeld[1]; held < 5*time.Second {
		t.Errorf("the first transaction held sku-7 for %v; want at least the coordinator's downtime", held)
	}
	if lat := r.Txns[1].Decided - r.Txns[1].Begin; lat < 100*time.Millisecond {
		t.Errorf("the second transaction decided in %v; it should have waited for the row", lat)
	}
	if _, err := c.Begin(twopc.Txn{Keys: []string{"only-one"}}); err == nil {
		t.Error("a transaction with one key for three participants should be an error")
	}
}

func TestSameSeedSameTraceAndDifferentSeedsDiffer(t *testing.T) {
	trace := func(seed uint64) string {
		cfg := twopc.Default(rules())
		cfg.Seed = seed
		cfg.Cooperative = true
		cfg.Trace = 500
		cfg.Crashes = []twopc.Crash{twopc.CoordinatorAfterFirstDecision(3, 3*time.Second)}
		return run(t, cfg).Mermaid()
	}
	a, b := trace(42), trace(42)
	if a != b {
		t.Error("two runs with seed 42 drew different diagrams")
	}
	if a == trace(43) {
		t.Error("seeds 42 and 43 drew the same diagram (the links have jitter)")
	}
	for _, want := range []string{"sequenceDiagram", "participant coordinator", "coordinator->>order: ", "PREPARE", "Note over coordinator: ", "crash", "restart", "peer: committed"} {
		if !strings.Contains(a, want) {
			t.Errorf("the diagram lacks %q", want)
		}
	}
}

func TestInvalidConfigurationsAreClearErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*twopc.Config)
		want string
	}{
		{"no participants", func(c *twopc.Config) { c.Participants = nil }, "no participants"},
		{"a duplicate participant", func(c *twopc.Config) { c.Participants = []string{"a", "a"} }, "twice"},
		{"a participant named like the coordinator", func(c *twopc.Config) { c.Participants = []string{"coordinator"} }, "coordinator's name"},
		{"a negative fsync", func(c *twopc.Config) { c.Fsync = -time.Millisecond }, "Fsync is negative"},
		{"a negative vote timeout", func(c *twopc.Config) { c.VoteTimeout = -time.Second }, "VoteTimeout is negative"},
		{"a zero query interval", func(c *twopc.Config) { c.QueryInterval = 0 }, "QueryInterval must be positive"},
		{"a bad link", func(c *twopc.Config) { c.Link.Drop = 2 }, "drop probability"},
		{"a crash of an unknown node", func(c *twopc.Config) { c.Crashes = []twopc.Crash{twopc.CrashAfter("bank", 1, time.Second)} }, `"bank"`},
		{"a negative downtime", func(c *twopc.Config) { c.Crashes = []twopc.Crash{twopc.CrashAfter("order", 1, -time.Second)} }, "negative downtime"},
		{"a crash after the end of the run", func(c *twopc.Config) { c.Crashes = []twopc.Crash{twopc.CrashAt("order", time.Hour, time.Second)} }, "outside the run"},
		{"a crash at a negative time", func(c *twopc.Config) { c.Crashes = []twopc.Crash{twopc.CrashAt("order", -time.Second, time.Second)} }, "outside the run"},
		{"a restart after the end of the run", func(c *twopc.Config) {
			c.Crashes = []twopc.Crash{twopc.CrashAt("order", 9*time.Minute, 2*time.Minute)}
		}, "restarts after the end"},
		{"a negative step", func(c *twopc.Config) { c.Crashes = []twopc.Crash{twopc.CrashAfter("order", -1, time.Second)} }, "count starts at 0"},
		{"a NO vote from a stranger", func(c *twopc.Config) { c.VoteNo = []string{"bank"} }, "not a participant"},
		{"missing rules", func(c *twopc.Config) { c.Rules = twopc.Rules{} }, "Rules.Recover"},
		{"a negative trace size", func(c *twopc.Config) { c.Trace = -1 }, "Trace is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := twopc.Default(rules())
			tt.mod(&cfg)
			_, err := twopc.Run(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRandomCrashCoversEveryPointAndLabelsIt(t *testing.T) {
	rng := sim.NewRand(1, "cover")
	seen := map[string]bool{}
	for i := 0; i < 3000; i++ {
		c, label := twopc.RandomCrash(rng, twopc.DefaultParticipants, time.Second)
		if c.Downtime < 0 || c.Downtime > time.Second {
			t.Fatalf("downtime %v outside [0, 1s]", c.Downtime)
		}
		seen[label] = true
	}
	// 6 coordinator points and 5 participant points, as labels.
	if len(seen) != 11 {
		t.Errorf("%d distinct crash points seen, want 11: %v", len(seen), seen)
	}
}

func ExampleRun() {
	cfg := twopc.Default(twopc.Rules{Recover: ref.ParticipantRecovery, Phase2: ref.Phase2, Terminate: ref.Terminate})
	// The coordinator dies once its PREPAREs are out, for 30 s.
	cfg.Crashes = []twopc.Crash{twopc.CoordinatorAfterPrepare(len(cfg.Participants), 30*time.Second)}
	r, _ := twopc.Run(cfg)
	// The participants are in doubt until their first question after the
	// restart (they ask at 0.5 s, 1.5 s, 3.5 s, then every 2 s).
	fmt.Println(r.Outcome(0), "after", r.Blocked().Round(100*time.Millisecond), "in doubt")
	fmt.Println("violations:", len(r.Violations()))
	// Output:
	// ABORT after 31.5s in doubt
	// violations: 0
}

func TestZeroLatencyAndZeroFsyncStillCommit(t *testing.T) {
	// Every event then happens at virtual time 0; ordering comes from the
	// order events were scheduled in.
	cfg := twopc.Default(rules())
	cfg.Link = sim.Link{}
	cfg.Fsync = 0
	r := run(t, cfg)
	if r.Outcome(0) != "COMMIT" || r.Stuck != nil || r.End != 0 {
		t.Errorf("outcome %s, stuck %v, end %v; want COMMIT, nil, 0", r.Outcome(0), r.Stuck, r.End)
	}
}

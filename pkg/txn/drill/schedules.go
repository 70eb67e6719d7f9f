package drill

import (
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
	ref "github.com/dsgym/dsgym/solutions/txn"
)

// reference2PC returns the reference rules, to combine with one learner rule.
func reference2PC() twopc.Rules {
	return twopc.Rules{Recover: ref.ParticipantRecovery, Phase2: ref.Phase2, Terminate: ref.Terminate}
}

// Schedule2PC is one seeded crash schedule of a check.
type Schedule2PC struct {
	Seed        uint64
	Crashes     []twopc.Crash
	VoteNo      []string
	Cooperative bool
}

// String describes the schedule: seed, crashes, NO votes, cooperation.
func (s Schedule2PC) String() string {
	var parts []string
	for _, c := range s.Crashes {
		parts = append(parts, c.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "no crash")
	}
	desc := fmt.Sprintf("seed %d, %s", s.Seed, strings.Join(parts, " and "))
	if len(s.VoteNo) > 0 {
		desc += ", " + strings.Join(s.VoteNo, ", ") + " votes NO"
	}
	if s.Cooperative {
		desc += ", cooperative termination on"
	}
	return desc
}

// Schedules2PC returns n seeded crash schedules of the kind named by focus:
// "participant" walks every participant through every crash point (with
// some NO votes and some coordinator crashes), "coordinator" walks the
// coordinator through every step (with some NO votes and participant
// crashes before voting), "termination" crashes the coordinator between
// PREPARE and the end of its phase 2 with cooperative termination on.
func Schedules2PC(focus string, n int) []Schedule2PC {
	parts := twopc.DefaultParticipants
	nc, np := twopc.CrashPoints(len(parts))
	out := make([]Schedule2PC, n)
	for i := range out {
		seed := uint64(1000 + i)
		rng := sim.NewRand(seed, "drill/"+focus)
		down := func() time.Duration { return time.Duration(rng.Int64N(int64(20*time.Second))) + 100*time.Millisecond }
		s := Schedule2PC{Seed: seed}
		switch focus {
		case "participant":
			p := parts[i%len(parts)]
			s.Crashes = append(s.Crashes, twopc.CrashAfter(p, (i/len(parts))%(np+1), down()))
			s.Cooperative = i%2 == 1
			if i%5 == 4 {
				s.Crashes = append(s.Crashes, twopc.CrashAfter(twopc.Coordinator, rng.IntN(nc+1), down()))
			}
			if i%7 == 3 {
				s.VoteNo = []string{parts[(i+1)%len(parts)]}
			}
		case "coordinator":
			s.Crashes = append(s.Crashes, twopc.CrashAfter(twopc.Coordinator, i%(nc+1), down()))
			s.Cooperative = (i/(nc+1))%2 == 1
			if i%6 == 5 {
				s.VoteNo = []string{parts[i%len(parts)]}
			}
			if i%4 == 2 {
				s.Crashes = append(s.Crashes, twopc.CrashAfter(parts[rng.IntN(len(parts))], 0, down()))
			}
		default: // termination
			s.Cooperative = true
			s.Crashes = append(s.Crashes, twopc.CrashAfter(twopc.Coordinator, len(parts)+i%(nc+1-len(parts)), down()))
			if i%5 == 2 {
				s.Crashes = append(s.Crashes, twopc.CrashAfter(parts[rng.IntN(len(parts))], 1+rng.IntN(np), down()))
			}
			if i%9 == 4 {
				s.VoteNo = []string{parts[i%len(parts)]}
			}
		}
		out[i] = s
	}
	return out
}

// Run runs one schedule with the given rules.
func (s Schedule2PC) Run(rules twopc.Rules) (*twopc.Result, error) {
	cfg := twopc.Default(rules)
	cfg.Seed, cfg.Crashes, cfg.VoteNo, cfg.Cooperative = s.Seed, s.Crashes, s.VoteNo, s.Cooperative
	return twopc.Run(cfg)
}

// atomicUnder fails t at the first schedule whose run breaks atomicity
// with rules; who names the learner's function in the sentence.
func atomicUnder(t exercise.T, who string, rules twopc.Rules, schedules []Schedule2PC) {
	for _, s := range schedules {
		r, err := s.Run(rules)
		if err != nil {
			t.Errorf("%s: the simulation could not start (%s): %v", who, s, err)
			return
		}
		if v := r.Violations(); len(v) > 0 {
			t.Errorf("with your %s, simulated run (%s): %s", who, s, v[0])
			return
		}
	}
}

// ScheduleSaga is one seeded fault schedule of the saga check: several
// sagas in one system, one refusing step each, lost and duplicated
// messages, failing compensations, and a crash.
type ScheduleSaga struct {
	Seed    uint64
	FailAt  []string // per saga
	Crash   fault.Crash
	Drop    float64
	Dup     float64
	UndoErr float64
}

// String describes the schedule: seed, failures, faults and the crash.
func (s ScheduleSaga) String() string {
	return fmt.Sprintf("seed %d, %d sagas failing at %v, %.0f%% of messages lost and %.0f%% duplicated, %.0f%% of compensation attempts failing, %s",
		s.Seed, len(s.FailAt), s.FailAt, 100*s.Drop, 100*s.Dup, 100*s.UndoErr, s.Crash)
}

// SchedulesSaga returns n seeded saga fault schedules.
func SchedulesSaga(n int) []ScheduleSaga {
	nodes := append([]string{saga.Orchestrator}, saga.DefaultSteps...)
	out := make([]ScheduleSaga, n)
	for i := range out {
		seed := uint64(2000 + i)
		rng := sim.NewRand(seed, "drill/saga")
		s := ScheduleSaga{Seed: seed, Drop: []float64{0, 0.1, 0.2}[i%3], Dup: []float64{0.1, 0, 0.2}[i%3], UndoErr: []float64{0, 0.3}[(i/3)%2]}
		for k := 0; k < 3; k++ {
			s.FailAt = append(s.FailAt, []string{"billing", "inventory"}[(i+k)%2])
		}
		s.Crash = fault.After(nodes[rng.IntN(len(nodes))], rng.IntN(25), time.Duration(rng.Int64N(int64(5*time.Second))))
		out[i] = s
	}
	return out
}

// Run runs one saga schedule with the given compensation rule.
func (s ScheduleSaga) Run(compensate saga.CompensateFunc) (*saga.Result, error) {
	cfg := saga.Default(compensate)
	cfg.Seed = s.Seed
	cfg.Link.Drop, cfg.Link.Duplicate = s.Drop, s.Dup
	cfg.UndoFailure = s.UndoErr
	cfg.Crashes = []fault.Crash{s.Crash}
	cfg.Horizon = 5 * time.Minute
	c, err := saga.NewCluster(cfg)
	if err != nil {
		return nil, err
	}
	for k, f := range s.FailAt {
		k := k
		spec := saga.Spec{FailAt: f}
		c.Sim().At(time.Duration(k)*3*time.Millisecond, func() { _, _ = c.Begin(spec) })
	}
	return c.Finish(), nil
}

package twopc

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// Coordinator is the coordinator's node name.
const Coordinator = "coordinator"

// DefaultParticipants are the services of the interview question.
var DefaultParticipants = []string{"order", "inventory", "billing"}

// Config describes a 2PC cluster and the faults to inject. Start from
// [Default] and change what the experiment varies; [Config.Validate] says
// what is wrong with a configuration.
type Config struct {
	// Seed fixes every random draw (network jitter, loss).
	Seed uint64
	// Participants names the participant nodes (at least one, distinct,
	// not "coordinator").
	Participants []string
	// Link is every network link (one way): latency, jitter, loss.
	Link sim.Link
	// Fsync is how long a durable log write takes; a crash during it loses
	// the record.
	Fsync time.Duration
	// VoteTimeout is how long the coordinator waits for votes before it
	// aborts.
	VoteTimeout time.Duration
	// QueryInterval is how long a prepared participant waits for the
	// decision before it asks; it asks again with backoff, the wait
	// doubling up to 4 QueryIntervals.
	QueryInterval time.Duration
	// AckTimeout is how long the coordinator waits for acknowledgements of
	// COMMIT before it sends it again.
	AckTimeout time.Duration
	// Cooperative turns on the cooperative termination protocol: an
	// in-doubt participant asks its peers as well as the coordinator.
	Cooperative bool
	// VoteNo lists participants that vote NO (in [Run]'s transaction).
	VoteNo []string
	// Crashes are the crashes to inject.
	Crashes []Crash
	// Horizon is the end of the run: a transaction still unresolved then is
	// reported as stuck. Crashes must be over (the node restarted) by then.
	Horizon time.Duration
	// Trace, when > 0, records up to that many trace events ([Result.Trace]).
	Trace int
	// Rules are the protocol decisions (all three required).
	Rules Rules
}

// Default returns the configuration the notebook starts from: the three
// services of the question, 1 ms links with a little jitter, 1 ms fsyncs,
// a 300 ms vote timeout, an in-doubt participant's first question after
// 500 ms (then 1 s, then every 2 s), COMMIT resent after 500 ms (backing
// off), no faults, a 10-minute horizon, and the given rules.
func Default(rules Rules) Config {
	return Config{
		Seed:          1,
		Participants:  append([]string(nil), DefaultParticipants...),
		Link:          sim.Link{Latency: time.Millisecond, Jitter: 500 * time.Microsecond, FIFO: true},
		Fsync:         time.Millisecond,
		VoteTimeout:   300 * time.Millisecond,
		QueryInterval: 500 * time.Millisecond,
		AckTimeout:    500 * time.Millisecond,
		Horizon:       10 * time.Minute,
		Rules:         rules,
	}
}

// Crash is one crash of one node, followed by a restart (see package
// fault). Build one with [CrashAfter] (a protocol step) or [CrashAt] (a
// time).
type Crash = fault.Crash

// CrashAfter returns a crash of node right after its n-th effect (a send,
// or a log write once durable), with the given downtime; n = 0 crashes it
// before its first effect. For a coordinator of k participants, effects
// 1..k are the PREPAREs, then come the phase-2 effects
// ([CoordinatorAfterPrepare] and [CoordinatorAfterFirstDecision] name the
// usual points).
func CrashAfter(node string, n int, downtime time.Duration) Crash {
	return fault.After(node, n, downtime)
}

// CrashAt returns a crash of node at virtual time t, with the given downtime.
func CrashAt(node string, t, downtime time.Duration) Crash {
	return fault.At(node, t, downtime)
}

// CoordinatorAfterPrepare is the crash the seed's "2PC is blocking" claim
// is about: the coordinator dies once every PREPARE is sent, before it
// decides, and is down for downtime.
func CoordinatorAfterPrepare(participants int, downtime time.Duration) Crash {
	return CrashAfter(Coordinator, participants, downtime)
}

// CoordinatorAfterFirstDecision crashes the coordinator right after it
// logged its decision and sent it to the first participant only (with the
// reference phase 2): the case where cooperative termination helps.
func CoordinatorAfterFirstDecision(participants int, downtime time.Duration) Crash {
	return CrashAfter(Coordinator, participants+2, downtime)
}

// Validate reports the first problem with the configuration, in a sentence.
func (c Config) Validate() error {
	if len(c.Participants) == 0 {
		return fmt.Errorf("twopc: no participants: a transaction needs at least one (Default() has %v)", DefaultParticipants)
	}
	seen := map[string]bool{}
	for _, p := range c.Participants {
		switch {
		case p == "":
			return fmt.Errorf("twopc: a participant has an empty name")
		case p == Coordinator:
			return fmt.Errorf("twopc: %q is the coordinator's name; choose another participant name", p)
		case seen[p]:
			return fmt.Errorf("twopc: participant %q appears twice", p)
		}
		seen[p] = true
	}
	if err := c.Link.Validate(); err != nil {
		return fmt.Errorf("twopc: %w", err)
	}
	for _, d := range []struct {
		name     string
		v        time.Duration
		positive bool
	}{
		{"Fsync", c.Fsync, false},
		{"VoteTimeout", c.VoteTimeout, true},
		{"QueryInterval", c.QueryInterval, true},
		{"AckTimeout", c.AckTimeout, true},
		{"Horizon", c.Horizon, true},
	} {
		if d.v < 0 {
			return fmt.Errorf("twopc: %s is negative (%v)", d.name, d.v)
		}
		if d.positive && d.v == 0 {
			return fmt.Errorf("twopc: %s must be positive (it is 0; Default() sets it)", d.name)
		}
	}
	if c.Trace < 0 {
		return fmt.Errorf("twopc: Trace is negative (%d)", c.Trace)
	}
	for _, v := range c.VoteNo {
		if !seen[v] {
			return fmt.Errorf("twopc: VoteNo names %q, which is not a participant (%v)", v, c.Participants)
		}
	}
	if err := fault.Validate(c.Crashes, append([]string{Coordinator}, c.Participants...), c.Horizon); err != nil {
		return fmt.Errorf("twopc: %w", err)
	}
	return c.Rules.validate()
}

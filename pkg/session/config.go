package session

import (
	"fmt"
	"math"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Strategy is how a client keeps its session guarantees.
type Strategy string

// The strategies.
const (
	// None routes each read to a replica in the client's region (any of
	// them, as a load balancer would) and each write to the primary.
	None Strategy = "none"
	// Sticky pins the session to one replica for reads and writes. The
	// replica forwards writes to the primary and acknowledges a write only
	// once it has applied it, so the session reads its writes there. When
	// the replica is lost the session is pinned again, elsewhere.
	Sticky Strategy = "sticky"
	// Token makes the client carry a write token (the log position of its
	// latest write). Reads go to a replica that has applied the token, or
	// wait for one, within a bound (Config.MaxWait), then fall back to the
	// primary. The routing decision is a [RouteFunc].
	Token Strategy = "write-token"
	// Cache routes like None, but the client remembers its own writes for
	// Config.CacheTTL and answers a read with the newer of the replica's
	// value and its remembered one.
	Cache Strategy = "client-cache"
	// PrimaryAfterWrite reads from the primary for Config.PrimaryWindow
	// after the session's latest write, and like None otherwise. Web
	// frameworks ship it (Laravel calls it "sticky", Rails' database
	// selector waits 2 s by default); it keeps read-your-writes only while
	// the replication lag stays under the window.
	PrimaryAfterWrite Strategy = "primary-after-write"
)

// Strategies lists the strategies in the order charts show them.
var Strategies = []Strategy{None, Sticky, Token, Cache, PrimaryAfterWrite}

// Crash takes a replica down during a run.
type Crash struct {
	// Replica is the index in Config.Replicas of the replica to crash.
	Replica int
	// At is the virtual time of the crash.
	At time.Duration
	// For is how long the replica stays down (0: until the end of the run).
	// It keeps what it had applied and catches up from the primary when it
	// comes back.
	For time.Duration
	// Silent makes the replica's host unreachable: requests to it go
	// unanswered until they time out. Otherwise (a crashed process on a
	// live host) connections are refused after one round trip, and the
	// client retries once elsewhere.
	Silent bool
}

// Config describes one simulated run: where the replicas and clients are,
// the workload, the replication lag, the strategy, and the faults.
type Config struct {
	// Seed fixes every random draw: same seed, same run.
	Seed uint64
	// Strategy is how sessions keep their guarantees.
	Strategy Strategy

	// Replicas places the replicas; Replicas[0] is the primary. Replicas in
	// one region are named <region>-1, <region>-2, ...
	Replicas []sim.Region
	// Sessions is the number of client sessions; they are spread over
	// ClientRegions in turn.
	Sessions      int
	ClientRegions []sim.Region

	// Ops is the total number of operations, shared among the sessions in
	// proportion to how busy they are (see Skew). Each session's operations
	// come from its own random stream, so every strategy serves the same
	// operations: comparisons between strategies compare like with like.
	Ops int
	// Duration, when positive, stops sessions from starting operations after
	// that much virtual time, even with Ops left: for experiments that look
	// at a stretch of time (a failover) rather than a number of operations.
	Duration time.Duration
	// WriteFraction is the share of operations that are writes.
	WriteFraction float64
	// OwnKeys is how many keys each session owns (its profile, its posts);
	// SharedKeys is how many keys every session reads and writes.
	OwnKeys, SharedKeys int
	// OwnReadFraction is the share of reads that read one of the session's
	// own keys (else a shared key); SharedWriteFraction the share of writes
	// that go to a shared key (else an own key).
	OwnReadFraction, SharedWriteFraction float64
	// Think is a session's mean pause between operations (exponential).
	Think time.Duration
	// Skew makes some sessions busier than others: session i thinks for
	// Think·(i+1)^Skew, normalised so that the mean stays Think (0: all
	// alike), and gets a share of Ops in proportion. Busy sessions weigh on
	// their replica: what pinning them costs.
	Skew float64

	// Lag is the mean extra time a replica takes to apply a log entry after
	// receiving it (replay, a busy disk, a long query holding it back).
	// Each entry's extra time is uniform in Lag·[1-LagJitter, 1+LagJitter];
	// entries are applied in log order.
	Lag       time.Duration
	LagJitter float64
	// ReplicaLag, when set, gives each replica its own mean lag (one entry
	// per replica, the primary's ignored), overriding Lag: a replica busy
	// with a long report, or one rebuilding, lags more than the others.
	ReplicaLag []time.Duration
	// NetJitter adds up to this fraction of each link's latency at random.
	NetJitter float64

	// Heartbeat is how often replicas report their log positions to the
	// routers; a replica silent for SuspectAfter is believed down.
	Heartbeat, SuspectAfter time.Duration
	// Timeout bounds each request; an operation with no answer by then fails.
	Timeout time.Duration
	// MaxWait bounds how long the write-token strategy lets a replica hold a
	// read before falling back to the primary.
	MaxWait time.Duration
	// TokenTracksReads makes the write token a session token: it also
	// advances to the highest version the session has read, so later reads
	// go to replicas at least that recent and monotonic reads hold too (what
	// Cosmos DB's session tokens and MongoDB's causal sessions do).
	TokenTracksReads bool
	// CacheTTL is how long the client cache remembers a write.
	CacheTTL time.Duration
	// CacheEvictEarly makes the client cache forget a write as soon as one
	// replica has returned it: a known-bad optimisation, since the load
	// balancer may send the next read to a replica that has not.
	CacheEvictEarly bool
	// PrimaryWindow is how long after a write the primary-after-write
	// strategy keeps reading from the primary (Rails' default: 2 s).
	PrimaryWindow time.Duration

	// Crashes lists replica failures to inject.
	Crashes []Crash
}

// Default returns the chapter's standard run: five replicas (primary in
// us-east, a second us-east replica, two in eu-west, one in ap-southeast),
// 30 sessions in three regions, 4000 operations, 100 ms of replication lag.
func Default() Config {
	return Config{
		Seed:                1,
		Strategy:            None,
		Replicas:            []sim.Region{sim.USEast, sim.USEast, sim.EUWest, sim.EUWest, sim.APSoutheast},
		Sessions:            30,
		ClientRegions:       []sim.Region{sim.USEast, sim.EUWest, sim.APSoutheast},
		Ops:                 4000,
		WriteFraction:       0.25,
		OwnKeys:             3,
		SharedKeys:          4,
		OwnReadFraction:     0.6,
		SharedWriteFraction: 0.2,
		Think:               100 * time.Millisecond,
		Skew:                0.8,
		Lag:                 100 * time.Millisecond,
		LagJitter:           0.5,
		NetJitter:           0.1,
		Heartbeat:           50 * time.Millisecond,
		SuspectAfter:        300 * time.Millisecond,
		Timeout:             2 * time.Second,
		MaxWait:             150 * time.Millisecond,
		CacheTTL:            2 * time.Second,
		PrimaryWindow:       2 * time.Second,
	}
}

// Limits on a configuration's size, so that a typo gives an error rather
// than a run that exhausts memory.
const (
	MaxReplicas = 64
	MaxSessions = 10_000
	MaxKeys     = 100_000
)

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	frac := func(name string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("%s must be in [0, 1], got %v", name, v)
		}
		return nil
	}
	nonNeg := func(name string, d time.Duration) error {
		if d < 0 {
			return fmt.Errorf("%s must not be negative, got %v", name, d)
		}
		return nil
	}
	switch c.Strategy {
	case None, Sticky, Token, Cache, PrimaryAfterWrite:
	default:
		return fmt.Errorf("unknown strategy %q (known: %v)", c.Strategy, Strategies)
	}
	if len(c.Replicas) < 1 || len(c.Replicas) > MaxReplicas {
		return fmt.Errorf("between 1 and %d replicas are needed (the first is the primary), got %d", MaxReplicas, len(c.Replicas))
	}
	for i, r := range c.Replicas {
		if _, err := sim.OneWay(r, r); err != nil {
			return fmt.Errorf("replica %d: %w", i, err)
		}
	}
	if c.Sessions < 1 || c.Sessions > MaxSessions {
		return fmt.Errorf("between 1 and %d sessions are needed, got %d", MaxSessions, c.Sessions)
	}
	if len(c.ClientRegions) == 0 {
		return fmt.Errorf("no client regions given")
	}
	for _, r := range c.ClientRegions {
		if _, err := sim.OneWay(r, r); err != nil {
			return fmt.Errorf("client region: %w", err)
		}
	}
	if c.Ops < 0 {
		return fmt.Errorf("ops must not be negative, got %d", c.Ops)
	}
	if c.OwnKeys < 0 || c.SharedKeys < 0 || c.OwnKeys+c.SharedKeys == 0 || c.OwnKeys > MaxKeys || c.SharedKeys > MaxKeys {
		return fmt.Errorf("own and shared keys must be in 0..%d with at least one key, got %d and %d", MaxKeys, c.OwnKeys, c.SharedKeys)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"WriteFraction", c.WriteFraction}, {"OwnReadFraction", c.OwnReadFraction}, {"SharedWriteFraction", c.SharedWriteFraction}, {"LagJitter", c.LagJitter}, {"NetJitter", c.NetJitter}} {
		if err := frac(f.name, f.v); err != nil {
			return err
		}
	}
	if math.IsNaN(c.Skew) || c.Skew < 0 || c.Skew > 4 {
		return fmt.Errorf("Skew must be in [0, 4], got %v", c.Skew)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Think", c.Think}, {"Duration", c.Duration}, {"Lag", c.Lag}, {"MaxWait", c.MaxWait}, {"CacheTTL", c.CacheTTL}, {"PrimaryWindow", c.PrimaryWindow}} {
		if err := nonNeg(d.name, d.v); err != nil {
			return err
		}
	}
	if c.ReplicaLag != nil && len(c.ReplicaLag) != len(c.Replicas) {
		return fmt.Errorf("ReplicaLag has %d entries for %d replicas", len(c.ReplicaLag), len(c.Replicas))
	}
	for i, l := range c.ReplicaLag {
		if l < 0 {
			return fmt.Errorf("ReplicaLag[%d] must not be negative, got %v", i, l)
		}
	}
	if c.Heartbeat < time.Millisecond || c.SuspectAfter < time.Millisecond || c.Timeout < time.Millisecond {
		return fmt.Errorf("Heartbeat, SuspectAfter and Timeout must be at least 1ms, got %v, %v, %v", c.Heartbeat, c.SuspectAfter, c.Timeout)
	}
	for i, cr := range c.Crashes {
		if cr.Replica < 0 || cr.Replica >= len(c.Replicas) {
			return fmt.Errorf("crash %d names replica %d; there are %d (0-%d)", i, cr.Replica, len(c.Replicas), len(c.Replicas)-1)
		}
		if cr.At < 0 || cr.For < 0 {
			return fmt.Errorf("crash %d has a negative time (at %v, for %v)", i, cr.At, cr.For)
		}
	}
	return nil
}

// ReplicaNames returns the replicas' names, in Config.Replicas order.
func (c Config) ReplicaNames() []string {
	count := map[sim.Region]int{}
	out := make([]string, len(c.Replicas))
	for i, r := range c.Replicas {
		count[r]++
		out[i] = fmt.Sprintf("%s-%d", r, count[r])
	}
	return out
}

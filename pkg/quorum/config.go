// Package quorum is a replicated key-value register over the deterministic
// simulated network of package sim: the Dynamo / Cassandra family of
// designs, small enough to read in one sitting.
//
// A cluster has one node per entry of Config.Regions, arranged on a ring.
// Each key lives on N consecutive nodes of the ring (its home replicas,
// chosen by hashing the key). Any node coordinates the operations of the
// clients in its region:
//
//   - a write is stamped with a version (the coordinator's clock, its node
//     number and a counter: last write wins), sent to the N home replicas,
//     and acknowledged to the client once W of them have stored it;
//   - a read asks the N home replicas and answers once R have replied,
//     with the newest value among the replies (the decision is a function,
//     Config.Read, which is the chapter's exercise);
//   - read repair sends that newest value to the replicas that answered with
//     an older one: in the background (RepairAsync), or before answering the
//     client, until W replicas hold it (RepairBlocking, which makes strict
//     quorums with R + W > N linearizable);
//   - in sloppy mode, a coordinator that cannot reach enough home replicas
//     within Config.SloppyAfter sends the operation to the next nodes of the
//     ring instead; they keep hinted copies and hand them to the home
//     replica when it is reachable again (hinted handoff).
//
// A coordinator that cannot gather its quorum within Config.Timeout refuses
// the operation: that is the "C" choice of CAP. Sloppy quorums answer
// instead: the "A" choice. [Run] drives a workload of clients against a
// cluster, through partitions if asked, and returns a [Report] with the
// history of every operation, checked for linearizability and stale reads
// by package linz.
//
// Everything is deterministic: a run is a function of Config.Seed and the
// workload.
package quorum

import (
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
	"github.com/dsgym/dsgym/pkg/sim"
	solution "github.com/dsgym/dsgym/solutions/quorum"
)

// ReadFunc decides a quorum read from the replies so far: the signature of
// the chapter's exercise quorum/read-repair (see solutions/quorum.QuorumRead).
type ReadFunc = func(r int, replies []replica.Reply) (replica.Resolution, error)

// RepairMode says what a coordinator does with replicas that answered a read
// with an old value.
type RepairMode int

// The read repair modes.
const (
	// RepairOff leaves stale replicas alone.
	RepairOff RepairMode = iota
	// RepairAsync sends them the newest value and answers the client at
	// once.
	RepairAsync
	// RepairBlocking writes the newest value back until W replicas hold it,
	// then answers: a read never returns a value that a later read could
	// miss.
	RepairBlocking
)

// String names the mode: "off", "async" or "blocking".
func (m RepairMode) String() string {
	switch m {
	case RepairOff:
		return "off"
	case RepairAsync:
		return "async"
	case RepairBlocking:
		return "blocking"
	}
	return fmt.Sprintf("RepairMode(%d)", int(m))
}

// Config describes a cluster.
type Config struct {
	// Seed drives every random choice (network jitter, the workload).
	Seed uint64
	// Regions places one node in each entry, in ring order (a region may
	// appear more than once: its nodes are then one availability zone
	// apart). At most 64 nodes.
	Regions []sim.Region
	// N is the number of home replicas per key (1..len(Regions)); R and W
	// the read and write quorums (1..N).
	N, R, W int
	// Repair is the read repair mode.
	Repair RepairMode
	// Sloppy turns on sloppy quorums with hinted handoff. It cannot be
	// combined with RepairBlocking.
	Sloppy bool
	// Timeout is how long a coordinator waits for its quorum before it
	// refuses the operation (default 1 s).
	Timeout time.Duration
	// SloppyAfter is how long a sloppy coordinator waits for the home
	// replicas before it turns to other nodes (default 400 ms).
	SloppyAfter time.Duration
	// HandoffEvery is how often a node holding hints tries to hand them to
	// their home replica (default 200 ms).
	HandoffEvery time.Duration
	// Jitter adds up to this fraction of each link's latency, at random
	// (default 0.1; negative means none).
	Jitter float64
	// ClockSkew, when set, holds one offset per node added to its clock
	// when it stamps versions: skewed clocks make last-write-wins lose
	// writes.
	ClockSkew []time.Duration
	// Read decides quorum reads; nil means the reference solution of the
	// exercise quorum/read-repair.
	Read ReadFunc
}

// FiveRegions is the default placement: one node in each of five regions.
var FiveRegions = []sim.Region{sim.USEast, sim.USWest, sim.EUWest, sim.APSoutheast, sim.SAEast}

// Default returns a five-region cluster with N=3, R=2, W=2 and blocking read
// repair: strict quorums that intersect.
func Default() Config {
	return Config{Seed: 1, Regions: append([]sim.Region(nil), FiveRegions...), N: 3, R: 2, W: 2, Repair: RepairBlocking}
}

// WithQuorums returns a copy of c with N, R and W set.
func (c Config) WithQuorums(n, r, w int) Config {
	c.N, c.R, c.W = n, r, w
	return c
}

// Name describes the configuration in a few words, e.g. "N=3 R=2 W=2" or
// "N=3 R=1 W=1 sloppy".
func (c Config) Name() string {
	s := fmt.Sprintf("N=%d R=%d W=%d", c.N, c.R, c.W)
	if c.Sloppy {
		s += " sloppy"
	}
	return s
}

// Validate reports what is wrong with the configuration, in one sentence.
func (c Config) Validate() error {
	switch {
	case len(c.Regions) == 0:
		return fmt.Errorf("the cluster has no nodes: give at least one region")
	case len(c.Regions) > 64:
		return fmt.Errorf("%d nodes: at most 64 are supported", len(c.Regions))
	case c.N < 1:
		return fmt.Errorf("N=%d: a key needs at least one replica", c.N)
	case c.N > len(c.Regions):
		return fmt.Errorf("N=%d replicas per key, but the cluster has only %d nodes", c.N, len(c.Regions))
	case c.R < 1 || c.R > c.N:
		return fmt.Errorf("R=%d is outside 1..N=%d", c.R, c.N)
	case c.W < 1 || c.W > c.N:
		return fmt.Errorf("W=%d is outside 1..N=%d", c.W, c.N)
	case c.Repair < RepairOff || c.Repair > RepairBlocking:
		return fmt.Errorf("unknown read repair mode %d", int(c.Repair))
	case c.Sloppy && c.Repair == RepairBlocking:
		return fmt.Errorf("sloppy quorums cannot use blocking read repair: their quorums need not meet, so writing back gains no consistency; use RepairAsync or RepairOff")
	case c.Timeout < 0 || c.SloppyAfter < 0 || c.HandoffEvery < 0:
		return fmt.Errorf("timeouts must not be negative (Timeout %v, SloppyAfter %v, HandoffEvery %v)", c.Timeout, c.SloppyAfter, c.HandoffEvery)
	case c.ClockSkew != nil && len(c.ClockSkew) != len(c.Regions):
		return fmt.Errorf("ClockSkew has %d entries for %d nodes", len(c.ClockSkew), len(c.Regions))
	}
	for i := range c.Regions {
		for j := i + 1; j < len(c.Regions); j++ {
			if _, err := sim.OneWay(c.Regions[i], c.Regions[j]); err != nil {
				return err
			}
		}
		if _, err := sim.OneWay(c.Regions[i], c.Regions[i]); err != nil {
			return err
		}
	}
	return nil
}

// withDefaults fills in the zero durations and the read function.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
	if c.SloppyAfter == 0 {
		c.SloppyAfter = 400 * time.Millisecond
	}
	if c.SloppyAfter > c.Timeout {
		c.SloppyAfter = c.Timeout
	}
	if c.HandoffEvery == 0 {
		c.HandoffEvery = 200 * time.Millisecond
	}
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
	if c.Read == nil {
		c.Read = solution.QuorumRead
	}
	return c
}

// Level overrides a configuration's quorums for one operation (tunable
// consistency, like Cassandra's consistency levels). Zero fields keep the
// configuration's R and W.
type Level struct {
	R, W int
	// Strict keeps this operation on the key's home replicas even in a
	// sloppy cluster: it is refused rather than handed to other nodes.
	Strict bool
}

// String describes the level, e.g. "R=3 strict" ("default" when empty).
func (l Level) String() string {
	var parts []string
	if l.R != 0 {
		parts = append(parts, fmt.Sprintf("R=%d", l.R))
	}
	if l.W != 0 {
		parts = append(parts, fmt.Sprintf("W=%d", l.W))
	}
	if l.Strict {
		parts = append(parts, "strict")
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, " ")
}

func (l Level) resolve(c Config) (r, w int, err error) {
	r, w = c.R, c.W
	if l.R != 0 {
		r = l.R
	}
	if l.W != 0 {
		w = l.W
	}
	if r < 1 || r > c.N {
		return 0, 0, fmt.Errorf("read level R=%d is outside 1..N=%d", r, c.N)
	}
	if w < 1 || w > c.N {
		return 0, 0, fmt.Errorf("write level W=%d is outside 1..N=%d", w, c.N)
	}
	return r, w, nil
}

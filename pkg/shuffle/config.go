package shuffle

import (
	"errors"
	"fmt"
	"time"
)

// Kind is the shape of a job.
type Kind string

// The jobs the simulator runs.
const (
	// Aggregate is groupBy(key).agg(...) / reduceByKey: a map stage and a
	// reduce stage; MapSideCombine decides whether map tasks pre-aggregate.
	Aggregate Kind = "aggregate"
	// Join is fact JOIN dim ON key: a sort-merge join (both sides
	// shuffled, then joined per partition) or a broadcast hash join.
	Join Kind = "join"
)

// Strategy is how a join is executed.
type Strategy string

// Join strategies.
const (
	// Auto broadcasts the small side when it is at most
	// BroadcastThreshold (spark.sql.autoBroadcastJoinThreshold), and
	// shuffles both sides otherwise.
	Auto Strategy = ""
	// SortMerge always shuffles both sides.
	SortMerge Strategy = "sort-merge"
	// Broadcast always ships the small side to every executor, like a
	// broadcast() hint.
	Broadcast Strategy = "broadcast"
)

// Cluster is the hardware: one executor per host.
type Cluster struct {
	Executors int
	// Cores per executor (spark.executor.cores): tasks that run at once.
	Cores int
	// Memory is the executor heap (spark.executor.memory). Execution
	// memory per task is (Memory - 300 MB) x spark.memory.fraction 0.6 /
	// Cores.
	Memory int64
	// Network and Disk are a host's bandwidth in bytes per second, shared
	// by its cores.
	Network, Disk float64
}

// Cost is the per-task cost model.
type Cost struct {
	// Launch is the scheduler's delay before a task starts (not in
	// RunTime); Deserialize is executorDeserializeTime.
	Launch, Deserialize time.Duration
	// PerRecord is compute per record processed.
	PerRecord time.Duration
	// Expansion is in-memory size over shuffle size for rows a task holds
	// (sorting or grouping them).
	Expansion float64
	// GC is the share of compute spent in GC at no heap pressure; it grows
	// to GC + 0.5 at full pressure.
	GC float64
	// Noise is the log-normal sigma of compute time between tasks.
	Noise float64
}

// Config is one simulated job with its cluster, settings and faults.
type Config struct {
	Seed uint64
	Kind Kind
	// Fact is the big (or only) side; Dim the small side of a Join.
	Fact, Dim Data
	// JoinType is the join's type (Inner by default): it decides which
	// sides AQE may split.
	JoinType JoinType
	// MapTasks is the number of input partitions of Fact (in Spark,
	// spark.sql.files.maxPartitionBytes, 128 MB, decides it); DimMapTasks
	// those of Dim.
	MapTasks, DimMapTasks int
	// ShufflePartitions is spark.sql.shuffle.partitions (200).
	ShufflePartitions int
	// MapSideCombine pre-aggregates on the map side (reduceByKey, or SQL's
	// partial aggregation); false is groupByKey: every row crosses the
	// network and the reducer holds them all.
	MapSideCombine bool
	// AggBytes is the size of one partial aggregate record.
	AggBytes int64
	// Salt spreads each key over Salt sub-keys (0 or 1: no salting). An
	// aggregation then runs a second shuffle to merge the partials; a join
	// replicates Dim Salt times.
	Salt int
	// Strategy and BroadcastThreshold
	// (spark.sql.autoBroadcastJoinThreshold, 10 MB) pick the join.
	Strategy           Strategy
	BroadcastThreshold int64
	AQE                AQE
	Speculation        Speculation
	// ShuffleService is spark.shuffle.service.enabled (false): map outputs
	// are served by the host's shuffle service and survive their executor.
	ShuffleService bool
	// LocalityWait is spark.locality.wait (3 s): how long a task that
	// prefers a host waits for a slot there before running anywhere.
	LocalityWait time.Duration
	Cluster      Cluster
	Cost         Cost
	Faults       []Fault
	// MaxEvents bounds the simulation (default 20 million).
	MaxEvents int
}

// FaultKind names a fault.
type FaultKind string

// The faults.
const (
	// SlowHost makes a host's CPU and disk Factor times slower (a bad
	// disk, a noisy neighbour).
	SlowHost FaultKind = "slow-host"
	// GCStorm multiplies GC time on a host by Factor.
	GCStorm FaultKind = "gc-storm"
	// HotNetwork divides a host's network bandwidth by Factor, both ways.
	HotNetwork FaultKind = "hot-network"
	// LoseExecutor kills the executor of Host at time At.
	LoseExecutor FaultKind = "lose-executor"
	// InputOnHosts stores the input blocks on the first Host+1 hosts only
	// (the others must read them remotely or wait for locality).
	InputOnHosts FaultKind = "input-on-hosts"
)

// Fault is one injected fault.
type Fault struct {
	Kind   FaultKind
	Host   int
	Factor float64
	At     time.Duration
}

// Default returns the chapter's job: an aggregation over 20 million rows of
// 100 bytes whose 100,000 keys follow Zipf's law (s = 1.1), on 8 executors
// of 4 cores and 4 GiB, with Spark 4's defaults (AQE on, speculation off,
// 200 shuffle partitions, locality wait 3 s, broadcast threshold 10 MB).
// Set Kind to Join to join it with a 20 MB dimension table (one 200-byte
// row per key), too big to broadcast by default.
func Default() Config {
	fact, _ := Zipf(20_000_000, 100_000, 1.1, 100)
	dim, _ := Uniform(100_000, 1, 200)
	return Config{
		Seed: 1, Kind: Aggregate, Fact: fact, Dim: dim, JoinType: Inner,
		MapTasks: 64, DimMapTasks: 4, ShufflePartitions: 200,
		MapSideCombine: false, AggBytes: 24,
		BroadcastThreshold: 10 * MB,
		AQE:                DefaultAQE(),
		Speculation:        Speculation{Interval: 100 * time.Millisecond, Multiplier: 3, Quantile: 0.9, MinRuntime: 100 * time.Millisecond, Efficiency: true, ProcessRateMultiplier: 0.75, LongRunTaskFactor: 2},
		LocalityWait:       3 * time.Second,
		Cluster:            Cluster{Executors: 8, Cores: 4, Memory: 4 << 30, Network: 1.25e9, Disk: 500e6},
		Cost: Cost{Launch: 2 * time.Millisecond, Deserialize: 5 * time.Millisecond,
			PerRecord: 500 * time.Nanosecond, Expansion: 2, GC: 0.03, Noise: 0.1},
	}
}

// ExecutionMemory is one task's share of execution memory:
// (heap - 300 MB reserved) x 0.6 (spark.memory.fraction) / cores.
func (c Cluster) ExecutionMemory() int64 {
	return int64(float64(c.Memory-300*MB) * 0.6 / float64(c.Cores))
}

// Validate reports a configuration that cannot run, in one sentence.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Kind != Aggregate && c.Kind != Join {
		add("kind %q is neither aggregate nor join", c.Kind)
	}
	if err := c.Fact.Validate("fact"); err != nil {
		errs = append(errs, err)
	}
	if c.Kind == Join {
		if err := c.Dim.Validate("dim"); err != nil {
			errs = append(errs, err)
		}
		if c.DimMapTasks <= 0 {
			add("dim map tasks %d must be positive", c.DimMapTasks)
		}
	}
	if c.MapTasks <= 0 || c.ShufflePartitions <= 0 {
		add("map tasks (%d) and shuffle partitions (%d) must be positive", c.MapTasks, c.ShufflePartitions)
	}
	if c.Cluster.Executors <= 0 || c.Cluster.Cores <= 0 {
		add("the cluster needs executors and cores (got %d executors of %d cores)", c.Cluster.Executors, c.Cluster.Cores)
	}
	if c.Cluster.Memory <= 300*MB {
		add("executor memory %d MB is not above the 300 MB Spark reserves", c.Cluster.Memory/MB)
	}
	if c.Cluster.Network <= 0 || c.Cluster.Disk <= 0 {
		add("network and disk bandwidth must be positive")
	}
	if c.Cost.PerRecord < 0 || c.Cost.Launch < 0 || c.Cost.Deserialize < 0 || c.Cost.Expansion < 1 || c.Cost.GC < 0 || c.Cost.Noise < 0 {
		add("costs must be non-negative, with expansion >= 1")
	}
	if c.Salt < 0 {
		add("salt %d is negative", c.Salt)
	}
	if c.AggBytes <= 0 {
		add("aggregate record size %d must be positive", c.AggBytes)
	}
	if c.LocalityWait < 0 {
		add("locality wait %v is negative", c.LocalityWait)
	}
	if c.AQE.Enabled {
		if err := c.AQE.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Speculation.Enabled {
		if err := c.Speculation.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, f := range c.Faults {
		switch f.Kind {
		case SlowHost, GCStorm, HotNetwork:
			if f.Factor < 1 {
				add("fault %d (%s): factor %v is below 1", i, f.Kind, f.Factor)
			}
		case LoseExecutor:
			if f.At < 0 {
				add("fault %d: lose-executor at %v is negative", i, f.At)
			}
			if c.Cluster.Executors < 2 {
				add("fault %d: losing the only executor leaves nowhere to run", i)
			}
		case InputOnHosts:
		default:
			add("fault %d: unknown kind %q", i, f.Kind)
		}
		if f.Host < 0 || f.Host >= c.Cluster.Executors {
			add("fault %d (%s): host %d is not one of the %d hosts", i, f.Kind, f.Host, c.Cluster.Executors)
		}
	}
	return errors.Join(errs...)
}

package txn

import (
	"fmt"
	"strconv"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/saga"
	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

// Load is a closed-loop workload: Clients clients each run one transaction
// (2PC) or saga at a time, until Txns have been started. Every transaction
// creates its own order row and charges its own account, and reserves
// stock on one of HotRows inventory rows (uniformly): fewer rows means more
// transactions wait for the same lock.
type Load struct {
	Seed    uint64
	Clients int
	Txns    int
	HotRows int
	// Hop is the one-way network latency (jitter is a quarter of it).
	Hop time.Duration
	// Fsync is the durable write time of every log and local transaction.
	Fsync time.Duration
	// LockTimeout is how long the 2PC coordinator waits for votes (a vote
	// stuck behind a lock counts) before it aborts.
	LockTimeout time.Duration
}

// DefaultLoad is the notebook's workload: 32 clients, 2000 transactions,
// 16 hot inventory rows, 1 ms hops, 1 ms fsyncs, a 1 s lock timeout.
func DefaultLoad() Load {
	return Load{Seed: 1, Clients: 32, Txns: 2000, HotRows: 16, Hop: time.Millisecond, Fsync: time.Millisecond, LockTimeout: time.Second}
}

// Validate reports the first problem with the workload.
func (l Load) Validate() error {
	switch {
	case l.Clients < 1:
		return fmt.Errorf("txn: Clients must be at least 1, got %d", l.Clients)
	case l.Txns < 1:
		return fmt.Errorf("txn: Txns must be at least 1, got %d", l.Txns)
	case l.HotRows < 1:
		return fmt.Errorf("txn: HotRows must be at least 1, got %d", l.HotRows)
	case l.Hop < 0:
		return fmt.Errorf("txn: Hop %v is negative", l.Hop)
	case l.Fsync < 0:
		return fmt.Errorf("txn: Fsync %v is negative", l.Fsync)
	case l.LockTimeout <= 0:
		return fmt.Errorf("txn: LockTimeout must be positive, got %v", l.LockTimeout)
	}
	return nil
}

// LoadResult is what a workload achieved with one protocol.
type LoadResult struct {
	Protocol  string
	Committed int // transactions that committed (sagas that completed)
	Aborted   int
	// Throughput is committed transactions per second of virtual time.
	Throughput float64
	// P50 and P99 are client-visible latencies (start to outcome).
	P50, P99 time.Duration
	// HotLockHeld is the mean time a transaction held its inventory row.
	HotLockHeld time.Duration
	Elapsed     time.Duration
}

func (l Load) keys(rng interface{ IntN(int) int }, i int) []string {
	n := strconv.Itoa(i)
	return []string{"order-" + n, "sku-" + strconv.Itoa(rng.IntN(l.HotRows)), "account-" + n}
}

// Run2PCLoad runs the workload as two-phase commit with the given rules.
func Run2PCLoad(l Load, rules twopc.Rules) (LoadResult, error) {
	if err := l.Validate(); err != nil {
		return LoadResult{}, err
	}
	cfg := twopc.Default(rules)
	cfg.Seed = l.Seed
	cfg.Link = sim.Link{Latency: l.Hop, Jitter: l.Hop / 4, FIFO: true}
	cfg.Fsync = l.Fsync
	cfg.VoteTimeout = l.LockTimeout
	cfg.Horizon = 24 * time.Hour
	c, err := twopc.NewCluster(cfg)
	if err != nil {
		return LoadResult{}, err
	}
	rng := sim.NewRand(l.Seed, "txn/load-keys")
	started := 0
	var lat []float64
	res := LoadResult{Protocol: "2PC"}
	var begin func()
	begin = func() {
		if started >= l.Txns {
			return
		}
		started++
		if _, err := c.Begin(twopc.Txn{Keys: l.keys(rng, started)}); err != nil {
			panic(err) // keys always match the participants
		}
	}
	c.OnDecided = func(t int, d twopc.Decision, at time.Duration) {
		if d == twopc.Commit {
			res.Committed++
		} else {
			res.Aborted++
		}
		res.Elapsed = max(res.Elapsed, at)
		begin()
	}
	for i := 0; i < l.Clients; i++ {
		begin()
	}
	r := c.Finish()
	if v := r.Violations(); len(v) > 0 {
		return LoadResult{}, fmt.Errorf("txn: the 2PC workload broke an invariant: %s", v[0])
	}
	var held time.Duration
	for _, t := range r.Txns {
		if t.Decided >= 0 {
			lat = append(lat, float64(t.Decided-t.Begin))
		}
		held += t.LockHeld[1]
	}
	res.HotLockHeld = held / time.Duration(len(r.Txns))
	finishLoad(&res, lat)
	return res, nil
}

// RunSagaLoad runs the workload as orchestrated sagas with the given
// compensation rule (no step fails, so it is not called).
func RunSagaLoad(l Load, compensate saga.CompensateFunc) (LoadResult, error) {
	if err := l.Validate(); err != nil {
		return LoadResult{}, err
	}
	cfg := saga.Default(compensate)
	cfg.Seed = l.Seed
	cfg.Link = sim.Link{Latency: l.Hop, Jitter: l.Hop / 4, FIFO: true}
	cfg.Fsync = l.Fsync
	cfg.Timeout = l.LockTimeout
	cfg.Horizon = 24 * time.Hour
	c, err := saga.NewCluster(cfg)
	if err != nil {
		return LoadResult{}, err
	}
	rng := sim.NewRand(l.Seed, "txn/load-keys")
	started := 0
	res := LoadResult{Protocol: "saga"}
	var begin func()
	begin = func() {
		if started >= l.Txns {
			return
		}
		started++
		if _, err := c.Begin(saga.Spec{Keys: l.keys(rng, started)}); err != nil {
			panic(err) // keys always match the steps
		}
	}
	c.OnFinished = func(s int, o saga.Outcome, at time.Duration) {
		if o == saga.Completed {
			res.Committed++
		} else {
			res.Aborted++
		}
		res.Elapsed = max(res.Elapsed, at)
		begin()
	}
	for i := 0; i < l.Clients; i++ {
		begin()
	}
	r := c.Finish()
	if v := r.Violations(); len(v) > 0 {
		return LoadResult{}, fmt.Errorf("txn: the saga workload broke an invariant: %s", v[0])
	}
	var lat []float64
	for _, s := range r.Sagas {
		if s.End >= 0 {
			lat = append(lat, float64(s.Latency()))
		}
	}
	res.HotLockHeld = l.Fsync // a local transaction holds its row for one durable write
	finishLoad(&res, lat)
	return res, nil
}

func finishLoad(res *LoadResult, lat []float64) {
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Committed) / res.Elapsed.Seconds()
	}
	res.P50 = durPct(lat, 50)
	res.P99 = durPct(lat, 99)
}

// LoadPoint is one point of a load sweep: the same workload under both
// protocols.
type LoadPoint struct {
	Load  Load
	TwoPC LoadResult
	Saga  LoadResult
}

// SweepLoad runs the workload once per variant (vary builds variant i from
// the base) under both protocols, on up to workers goroutines.
func SweepLoad(base Load, n int, vary func(l *Load, i int), rules twopc.Rules, compensate saga.CompensateFunc, workers int) ([]LoadPoint, error) {
	if n < 1 || vary == nil {
		return nil, fmt.Errorf("txn: SweepLoad needs at least one variant and a vary function")
	}
	out := make([]LoadPoint, n)
	errs := make([]error, 2*n)
	parallel(2*n, workers, func(k int) {
		i := k / 2
		l := base
		vary(&l, i)
		if k%2 == 0 {
			out[i].Load = l
			out[i].TwoPC, errs[k] = Run2PCLoad(l, rules)
		} else {
			out[i].Saga, errs[k] = RunSagaLoad(l, compensate)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

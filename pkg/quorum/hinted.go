package quorum

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// HintedRun is what HintedStale saw.
type HintedRun struct {
	Key string
	// Homes are the key's home replicas; Writer is the region cut off
	// from all of them.
	Homes  []string
	Writer sim.Region
	// Sloppy is the W=1 write of v2 made with sloppy quorums (Cassandra's
	// ANY): a stand-in on the writer's side holds it as a hint.
	Sloppy Result
	// Strict is the same write counted on home replicas only (Cassandra's
	// ONE): no home replica is reachable, so it is refused.
	Strict Result
	// Exact is the R=N strict read made from Reader right after the heal,
	// before the hint reached a home replica; Stale says it returned v1
	// although v2 had been acknowledged before the read began.
	Reader   sim.Region
	Exact    Result
	Stale    bool
	ReadAt   time.Duration // after the heal
	HintedAt time.Duration // when the first home replica stored v2, after the heal (0: not within the run)
}

// HintedStale shows the limit of "an R=N read is never stale". Key's value
// is v1 everywhere; then a region holding none of the key's home replicas
// is cut off, and a client there writes v2 at W=1 in a sloppy cluster: a
// node on its side takes the write as a hint and acknowledges it. The
// network heals, and at once a client elsewhere reads the key at R=N,
// strict (every home replica). None of them has v2 yet (the hint is
// handed over every HandoffEvery), so the read returns v1: stale, and
// not linearizable, although R + W > N. Counted on home replicas only
// (Cassandra's ONE rather than ANY), the same write is refused during the
// partition, and the exact read cannot miss an acknowledged write.
func HintedStale(cfg Config) (HintedRun, error) {
	cfg.Sloppy = true
	cfg.W = 1
	if cfg.Repair == RepairBlocking {
		cfg.Repair = RepairAsync
	}
	c, err := New(cfg)
	if err != nil {
		return HintedRun{}, err
	}
	// A key and a region that holds none of its home replicas.
	var run HintedRun
	for i := 0; run.Key == "" && i < 1000; i++ {
		key := fmt.Sprintf("x%d", i)
		homes := map[sim.Region]bool{}
		for _, h := range c.homes(key) {
			homes[c.nodes[h].region] = true
		}
		for _, n := range c.nodes {
			if !homes[n.region] {
				run.Key, run.Writer = key, n.region
				break
			}
		}
	}
	if run.Key == "" {
		return run, fmt.Errorf("every region holds a home replica of every key (N=%d of %d nodes): nothing can be cut off from a key's homes", cfg.N, len(c.nodes))
	}
	run.Homes = c.Homes(run.Key)
	run.Reader = c.nodes[c.homes(run.Key)[0]].region
	w, err := c.Client(run.Writer)
	if err != nil {
		return run, err
	}
	r, err := c.Client(run.Reader)
	if err != nil {
		return run, err
	}
	var first Result
	w.Put(run.Key, "v1", Level{W: cfg.N, Strict: true}, "", func(res Result) { first = res })
	if err := c.sim.RunFor(3 * c.cfg.Timeout); err != nil {
		return run, err
	}
	if first.Err != nil {
		return run, fmt.Errorf("write v1 with a healthy network: %w", first.Err)
	}
	var others []sim.Region
	for _, reg := range cfg.Regions {
		if reg != run.Writer {
			others = append(others, reg)
		}
	}
	if err := c.Partition([]sim.Region{run.Writer}, others); err != nil {
		return run, err
	}
	w.Put(run.Key, "v2", Level{W: 1, Strict: true}, "", func(res Result) { run.Strict = res })
	w.Put(run.Key, "v2", Level{W: 1}, "", func(res Result) { run.Sloppy = res })
	if err := c.sim.RunFor(3 * c.cfg.Timeout); err != nil {
		return run, err
	}
	if run.Sloppy.Err != nil {
		return run, fmt.Errorf("the sloppy write during the partition was refused: %w", run.Sloppy.Err)
	}
	c.Heal()
	healed := c.sim.Now()
	run.ReadAt = 0
	r.Get(run.Key, Level{R: cfg.N, Strict: true}, "", func(res Result) { run.Exact = res })
	// Watch the home replicas for v2 while the hint is handed over.
	for step := 0; step < 100 && run.HintedAt == 0; step++ {
		if err := c.sim.RunFor(10 * time.Millisecond); err != nil {
			return run, err
		}
		for _, h := range run.Homes {
			if v, _, ok, _ := c.Stored(h, run.Key); ok && v == "v2" {
				run.HintedAt = time.Duration(c.sim.Now() - healed)
				break
			}
		}
	}
	if err := c.sim.RunFor(3 * c.cfg.Timeout); err != nil {
		return run, err
	}
	if run.Exact.Err != nil {
		return run, fmt.Errorf("the exact read after the heal: %w", run.Exact.Err)
	}
	run.Stale = run.Exact.Found && run.Exact.Value == "v1"
	return run, nil
}

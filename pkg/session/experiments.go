package session

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// RunAll runs every configuration (on as many cores as there are) and
// returns the outcomes in the order of cfgs. Each run is a function of its
// own configuration, so the results do not depend on scheduling. The first
// error stops the rest and is returned with the index of its configuration.
func RunAll(cfgs []Config, impl Impl) ([]*Outcome, error) {
	out := make([]*Outcome, len(cfgs))
	errs := make([]error, len(cfgs))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	for range min(runtime.GOMAXPROCS(0), max(1, len(cfgs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				mu.Lock()
				stop := failed
				mu.Unlock()
				if stop {
					continue
				}
				o, err := Run(cfgs[i], impl)
				if err != nil {
					mu.Lock()
					failed = true
					mu.Unlock()
				}
				out[i], errs[i] = o, err
			}
		}()
	}
	for i := range cfgs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("run %d (%s, seed %d): %w", i, cfgs[i].Strategy, cfgs[i].Seed, err)
		}
	}
	return out, nil
}

// ForStrategies returns one copy of base per strategy.
func ForStrategies(base Config, strategies []Strategy) []Config {
	out := make([]Config, len(strategies))
	for i, s := range strategies {
		out[i] = base
		out[i].Strategy = s
	}
	return out
}

// Failover is the chapter's failover experiment: every session in eu-west,
// where eu-west-1 is a healthy replica and eu-west-2 runs 1.2 s behind (it
// also serves the nightly reports). eu-west-1's process crashes at 6 s
// (connections are refused at once, clients retry elsewhere) and comes back
// at 14 s, catching up from the primary. Each run lasts 20 s of virtual
// time, however many operations that takes.
func Failover() Config {
	cfg := Default()
	cfg.Ops, cfg.Duration = 1_000_000, 20*time.Second
	cfg.ClientRegions = []sim.Region{sim.EUWest}
	cfg.ReplicaLag = []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 1200 * time.Millisecond, 100 * time.Millisecond}
	cfg.Crashes = []Crash{{Replica: 2, At: 6 * time.Second, For: 8 * time.Second}}
	return cfg
}

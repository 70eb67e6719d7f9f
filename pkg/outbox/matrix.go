package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
)

// Cell is one crash point's runs in the crash matrix.
type Cell struct {
	Relay RelayKind
	At    Point
	// Runs counts schedules; Fired those in which the crash happened
	// (a crash set to a later pass than the run reaches does not).
	Runs, Fired int
	// Violations counts runs with any broken invariant; First is the
	// first one's report.
	Violations int
	First      *Report
	// Published and PublishedDuplicates sum the output records and the
	// duplicates among them; MaxDuplicates is the most in one run.
	Published, PublishedDuplicates, MaxDuplicates int
	// Skipped sums the input records the ingest inbox recognised;
	// DownstreamDuplicates the events the downstream inbox did.
	Skipped, DownstreamDuplicates int
	Took                          time.Duration
}

// Verdict is the cell's verdict in words.
func (c Cell) Verdict() string {
	if c.Violations > 0 {
		return fmt.Sprintf("%d of %d runs broke an invariant: %s", c.Violations, c.Runs, c.First)
	}
	return fmt.Sprintf("no violation in %d runs (%d crashed)", c.Runs, c.Fired)
}

// MatrixConfig shapes Matrix.
type MatrixConfig struct {
	Relays []RelayKind // default: polling, and log-based on PostgreSQL
	Points []Point     // default Points
	// Passes are the crash passes tried per point (default 1, 2, 5);
	// Seeds the seeds per pass (default 2).
	Passes []int
	Seeds  int
	// Base is the run shape (Orders default 100 here).
	Base Config
	// Workers runs this many schedules at once (default 2).
	Workers int
	// Progress, when not nil, is called after each run.
	Progress func(done, total int)
}

// Matrix runs every crash point with every relay, each at several passes
// and seeds, and checks every run. It returns one Cell per relay and point.
func Matrix(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, cfg MatrixConfig) ([]Cell, error) {
	if len(cfg.Relays) == 0 {
		cfg.Relays = []RelayKind{Polling}
		if dbe.Real {
			cfg.Relays = append(cfg.Relays, LogBased)
		}
	}
	if len(cfg.Points) == 0 {
		cfg.Points = Points
	}
	if len(cfg.Passes) == 0 {
		cfg.Passes = []int{1, 2, 5}
	}
	if cfg.Seeds <= 0 {
		cfg.Seeds = 2
	}
	if cfg.Base.Orders <= 0 {
		cfg.Base.Orders = 100
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	type job struct {
		cell int
		cfg  Config
	}
	var cells []Cell
	var jobs []job
	for _, relay := range cfg.Relays {
		for _, p := range cfg.Points {
			cells = append(cells, Cell{Relay: relay, At: p})
			for _, pass := range cfg.Passes {
				for s := range cfg.Seeds {
					c := cfg.Base
					c.Relay, c.Crash, c.Seed = relay, Crash{At: p, After: pass}, uint64(1000*pass+s)
					if relay == Polling && c.Purge == DeleteAfterInsert {
						c.Purge = ""
					}
					jobs = append(jobs, job{cell: len(cells) - 1, cfg: c})
				}
			}
		}
	}
	var (
		mu    sync.Mutex
		done  int
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, cfg.Workers)
	)
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := Run(ctx, k, dbe, j.cfg)
			mu.Lock()
			defer mu.Unlock()
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, len(jobs))
			}
			if err != nil {
				if first == nil {
					first = fmt.Errorf("%s, crash %v, seed %d: %w", j.cfg.Relay, &j.cfg.Crash, j.cfg.Seed, err)
				}
				return
			}
			c := &cells[j.cell]
			c.Runs++
			if res.Crashed {
				c.Fired++
			}
			if !res.Report.OK() && c.Violations == 0 {
				r := res.Report
				c.First = &r
			}
			if !res.Report.OK() {
				c.Violations++
			}
			c.Published += res.Report.Published
			c.PublishedDuplicates += res.Report.PublishedDuplicates
			c.MaxDuplicates = max(c.MaxDuplicates, res.Report.PublishedDuplicates)
			c.Skipped += res.Skipped
			c.DownstreamDuplicates += res.DownstreamDuplicates
			c.Took += res.Took
		}()
	}
	wg.Wait()
	return cells, first
}

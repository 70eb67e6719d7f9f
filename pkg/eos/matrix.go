package eos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
)

// Cell sums the verdicts of one mode and crash point over its seeds.
type Cell struct {
	Mode  Mode
	Point Point
	Runs  int
	// Per read_committed consumer (the database for the sink), summed.
	Lost, Duplicated, AbortedReads int
	// AbortedUncommitted counts aborted reads a read_uncommitted consumer
	// made.
	AbortedUncommitted int
	// Clean counts runs with no anomaly under read_committed.
	Clean   int
	Records int // input records over all runs
	// Stats sums the operational signals of the cell's runs (transactions
	// committed and aborted, fenced instances, time in transactions).
	Stats Stats
}

// PerThousand returns lost and duplicated records per 1,000 inputs.
func (c Cell) PerThousand() (lost, dup float64) {
	if c.Records == 0 {
		return 0, 0
	}
	return 1000 * float64(c.Lost) / float64(c.Records), 1000 * float64(c.Duplicated) / float64(c.Records)
}

// MatrixConfig says what Matrix runs.
type MatrixConfig struct {
	Modes  []Mode   // default Modes
	Points []Point  // default Points
	Seeds  []uint64 // default 1..10
	Base   Schedule // the shape of every schedule (Mode, Point, Seed are set per run)
	// Workers is how many schedules run at once (default 8). Every
	// schedule has topics of its own, so they do not interfere; the cells
	// come out in mode, point order whatever the interleaving.
	Workers int
	// Progress, when not nil, gets a line every 10% of the schedules.
	Progress io.Writer
}

// Matrix runs every mode x point x seed on k and sums each cell.
func Matrix(ctx context.Context, k *engines.KafkaEngine, cfg MatrixConfig) ([]Cell, error) {
	if len(cfg.Modes) == 0 {
		cfg.Modes = Modes
	}
	if len(cfg.Points) == 0 {
		cfg.Points = Points
	}
	if len(cfg.Seeds) == 0 {
		for i := range 10 {
			cfg.Seeds = append(cfg.Seeds, uint64(i+1))
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	var jobs []Schedule
	for _, m := range cfg.Modes {
		for _, pt := range cfg.Points {
			for _, seed := range cfg.Seeds {
				s := cfg.Base
				s.Mode, s.Point, s.Seed = m, pt, seed
				jobs = append(jobs, s)
			}
		}
	}
	verdicts := make([]Verdict, len(jobs))
	errs := make([]error, len(jobs))
	began := time.Now()
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				verdicts[i], errs[i] = RunSchedule(ctx, k, jobs[i])
				if errs[i] != nil {
					cancel()
				}
				mu.Lock()
				done++
				if cfg.Progress != nil && (done*10/len(jobs) != (done-1)*10/len(jobs) || done == len(jobs)) {
					fmt.Fprintf(cfg.Progress, "%d of %d schedules in %v\n", done, len(jobs), time.Since(began).Round(time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var cells []Cell
	for i, v := range verdicts {
		if i == 0 || jobs[i].Mode != jobs[i-1].Mode || jobs[i].Point != jobs[i-1].Point {
			cells = append(cells, Cell{Mode: jobs[i].Mode, Point: jobs[i].Point})
		}
		c := &cells[len(cells)-1]
		c.Runs++
		c.Records += v.Committed.Inputs
		c.Lost += v.Committed.Lost
		c.Duplicated += v.Committed.Duplicated
		c.AbortedReads += v.Committed.AbortedReads
		c.AbortedUncommitted += v.Uncommitted.AbortedReads
		if v.Committed.OK() {
			c.Clean++
		}
		c.Stats.Batches += v.Stats.Batches
		c.Stats.Records += v.Stats.Records
		c.Stats.Commits += v.Stats.Commits
		c.Stats.Aborts += v.Stats.Aborts
		c.Stats.Fenced += v.Stats.Fenced
		c.Stats.TxnTime += v.Stats.TxnTime
	}
	return cells, nil
}

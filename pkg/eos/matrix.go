package eos

import (
	"context"
	"fmt"
	"io"
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
}

// PerThousand returns lost and duplicated records per 1,000 inputs.
func (c Cell) PerThousand() (lost, dup float64) {
	if c.Records == 0 {
		return 0, 0
	}
	return 1000 * float64(c.Lost) / float64(c.Records), 1000 * float64(c.Duplicated) / float64(c.Records)
}

// Matrix runs every mode x point x seed in seeds on k and sums each cell.
// progress, when not nil, gets one line per mode.
func Matrix(ctx context.Context, k *engines.KafkaEngine, modes []Mode, points []Point, seeds []uint64, base Schedule, progress io.Writer) ([]Cell, error) {
	var cells []Cell
	for _, m := range modes {
		began := time.Now()
		for _, pt := range points {
			c := Cell{Mode: m, Point: pt}
			for _, seed := range seeds {
				s := base
				s.Mode, s.Point, s.Seed = m, pt, seed
				v, err := RunSchedule(ctx, k, s)
				if err != nil {
					return cells, err
				}
				c.Runs++
				c.Records += v.Committed.Inputs
				c.Lost += v.Committed.Lost
				c.Duplicated += v.Committed.Duplicated
				c.AbortedReads += v.Committed.AbortedReads
				c.AbortedUncommitted += v.Uncommitted.AbortedReads
				if v.Committed.OK() {
					c.Clean++
				}
			}
			cells = append(cells, c)
		}
		if progress != nil {
			fmt.Fprintf(progress, "%v: %d schedules in %v\n", m, len(points)*len(seeds), time.Since(began).Round(time.Millisecond))
		}
	}
	return cells, nil
}

package q1

import (
	"fmt"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/quorum"
	"github.com/dsgym/dsgym/pkg/sim"
)

func TestDiv(t *testing.T) {
	for _, rf := range []float64{0.8, 0.9, 0.95} {
		for _, m := range []quorum.RepairMode{quorum.RepairOff, quorum.RepairAsync, quorum.RepairBlocking} {
			cfg := quorum.Default()
			cfg.Repair = m
			w := quorum.DefaultWorkload()
			w.ReadFraction = rf
			w.Keys = 50
			w.Ops = 1500
			w.SampleEvery = 500 * time.Millisecond
			w.Faults = []quorum.Fault{{At: 2 * time.Second, Heal: 6 * time.Second, Sides: [][]sim.Region{{sim.USEast, sim.USWest, sim.SAEast}}}}
			rep, err := quorum.Run(cfg, w)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("rf %.1f %-8v elapsed %v div %v\n", rf, m, rep.Elapsed.Round(time.Second), rep.DivergentOver[:min(len(rep.DivergentOver), 30)])
		}
	}
}

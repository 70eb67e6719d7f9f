package ingest

import (
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/workload"
)

func BenchmarkOneSimulatedSecond(b *testing.B) {
	wl, err := workload.New(workload.Default())
	if err != nil {
		b.Fatal(err)
	}
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 16)
	top, _ := wl.ByRank(0)
	cfg := Config{Workload: wl, Partitioner: p, Start: time.Date(2025, 10, 26, 13, 59, 59, 500e6, time.UTC), Duration: time.Second, Bucket: time.Hour, Salts: map[int]int{top: 8}}
	var events uint64
	start := time.Now()
	for b.Loop() {
		r, err := Run(cfg)
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
	}
	el := time.Since(start)
	budget.AtLeast(b, "events/s", float64(events)/el.Seconds(), 50e6)
}

package quorum

import (
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/linz"
)

// The budgets: a 10,000-operation history over 5 replicas simulates
// in at most 0.5 s warm, and porcupine checks it in at most 1 s.

func tenThousand() (Config, Workload) {
	w := DefaultWorkload()
	w.Ops, w.Keys = 10000, 100
	return Default().WithQuorums(5, 3, 3), w
}

func BenchmarkSimulate10kOpsOver5Replicas(b *testing.B) {
	cfg, w := tenThousand()
	mustRun(b, cfg, w) // warm up
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rep := mustRun(b, cfg, w)
		if len(rep.History.Ops) != w.Ops {
			b.Fatalf("%d operations, want %d", len(rep.History.Ops), w.Ops)
		}
	}
	budget.AtMost(b, "s/run", time.Since(start).Seconds()/float64(b.N), 0.5)
}

func benchCheck(b *testing.B, cfg Config, w Workload, want linz.Verdict) {
	rep := mustRun(b, cfg, w)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		res, err := linz.Check(rep.History, 0)
		if err != nil || res.Verdict != want {
			b.Fatalf("Check = %v, %v; want %v", res, err, want)
		}
	}
	budget.AtMost(b, "s/check", time.Since(start).Seconds()/float64(b.N), 1)
}

func BenchmarkPorcupineChecks10kOps(b *testing.B) {
	cfg, w := tenThousand()
	benchCheck(b, cfg, w, linz.Linearizable)
}

func BenchmarkPorcupineChecks10kOpsWithViolations(b *testing.B) {
	cfg, w := tenThousand()
	cfg = cfg.WithQuorums(5, 1, 1)
	benchCheck(b, cfg, w, linz.NotLinearizable)
}

// Through a partition, refused writes may or may not have taken effect: the
// hardest histories for porcupine.
func BenchmarkPorcupineChecks10kOpsThroughAPartition(b *testing.B) {
	cfg, w := tenThousand()
	w.Faults = []Fault{{At: 5 * time.Second, Heal: 25 * time.Second, Sides: americas}}
	b.Run("strict", func(b *testing.B) { benchCheck(b, cfg, w, linz.Linearizable) })
	sloppy := cfg.WithQuorums(3, 2, 2) // N=5 leaves no node outside a key's replicas to borrow
	sloppy.Sloppy, sloppy.Repair = true, RepairAsync
	b.Run("sloppy", func(b *testing.B) { benchCheck(b, sloppy, w, linz.NotLinearizable) })
}

func BenchmarkStaleReads10kOps(b *testing.B) {
	cfg, w := tenThousand()
	rep := mustRun(b, cfg.WithQuorums(5, 1, 1), w)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := linz.Stale(rep.History); err != nil {
			b.Fatal(err)
		}
	}
	budget.AtMost(b, "s/count", time.Since(start).Seconds()/float64(b.N), 0.1)
}

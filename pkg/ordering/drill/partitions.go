package drill

import (
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/ordering/sizing"
	ref "github.com/dsgym/dsgym/solutions/ordering"
)

// PartitionsFunc is Partitions' signature.
type PartitionsFunc = sizing.Func

func wantPartitions(name string, n sizing.Need, want int, hint int) exercise.Check[PartitionsFunc] {
	return exercise.Check[PartitionsFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f PartitionsFunc) {
		p, err := f(n)
		if err != nil {
			t.Errorf("Partitions(%+v) returned error %v; want %d partitions", n, err, want)
			return
		}
		if p.Partitions != want {
			t.Errorf("Partitions(%+v) = %d partitions (%s); want %d", n, p.Partitions, p.Why, want)
		}
	}}
}

// Partitions is exercise ordering/partitions.
var Partitions = exercise.Register(&exercise.Exercise[PartitionsFunc]{
	ID:       "ordering/partitions",
	Title:    "How many partitions?",
	Task:     "from the target throughput, headroom, measured per-partition and per-consumer throughput and the group's size, choose a partition count",
	Func:     "Partitions",
	Notebook: notebook,
	Hints: [3]string{
		"Two sides limit a topic: how much one partition takes in, and how much one consumer gets through. A group uses at most one consumer per partition.",
		"load = Target x (1 + Headroom). The producer side needs ceil(load / PerPartition) partitions, the consumer side ceil(load / PerConsumer) consumers and so as many partitions. Take the larger, and round it up to a multiple of Consumers so every consumer of the full group gets the same share.",
		"Check the inputs first. If ceil(load / PerConsumer) > Consumers, return an error: no partition count helps. Otherwise need := max(forProduce, forConsume); Partitions = (need + Consumers - 1) / Consumers * Consumers.",
	},
	Reference: ref.Partitions,
	Probe: func(f PartitionsFunc) {
		_, _ = f(sizing.Need{Target: 1, PerPartition: 1, PerConsumer: 1, Consumers: 1})
	},
	Checks: []exercise.Check[PartitionsFunc]{
		wantPartitions("the producer side decides when consumers are fast: 50,000/s at 10,000 per partition is 5, rounded to a multiple of 5 consumers",
			sizing.Need{Target: 50_000, PerPartition: 10_000, PerConsumer: 20_000, Consumers: 5}, 5, 1),
		wantPartitions("the consumer side decides when processing is slow: 50,000/s at 2,000 per consumer needs 25 consumers, so 25 partitions",
			sizing.Need{Target: 50_000, PerPartition: 10_000, PerConsumer: 2_000, Consumers: 25}, 25, 2),
		wantPartitions("headroom is part of the load: 50% more on 40,000/s at 10,000 per partition is 6",
			sizing.Need{Target: 40_000, Headroom: 0.5, PerPartition: 10_000, PerConsumer: 100_000, Consumers: 2}, 6, 2),
		wantPartitions("the count is a multiple of the group's size: 7 needed over 4 consumers is 8",
			sizing.Need{Target: 70_000, PerPartition: 10_000, PerConsumer: 20_000, Consumers: 4}, 8, 3),
		{Name: "a load the group cannot consume is an error, whatever the partitions", Hint: 2, Run: func(t exercise.T, f PartitionsFunc) {
			n := sizing.Need{Target: 50_000, PerPartition: 10_000, PerConsumer: 2_000, Consumers: 10}
			if p, err := f(n); err == nil {
				t.Errorf("Partitions(%+v) = %d partitions; want an error: it needs 25 consumers and the group has 10", n, p.Partitions)
			}
		}},
		{Name: "bad input is an error: non-positive throughputs, no consumers, negative headroom", Hint: 1, Run: func(t exercise.T, f PartitionsFunc) {
			good := sizing.Need{Target: 1000, PerPartition: 100, PerConsumer: 100, Consumers: 10}
			for name, mutate := range map[string]func(*sizing.Need){
				"Target 0":         func(n *sizing.Need) { n.Target = 0 },
				"PerPartition < 0": func(n *sizing.Need) { n.PerPartition = -1 },
				"PerConsumer 0":    func(n *sizing.Need) { n.PerConsumer = 0 },
				"Consumers 0":      func(n *sizing.Need) { n.Consumers = 0 },
				"Headroom < 0":     func(n *sizing.Need) { n.Headroom = -0.5 },
			} {
				n := good
				mutate(&n)
				if _, err := f(n); err == nil {
					t.Errorf("%s: Partitions(%+v) returned no error", name, n)
				}
			}
		}},
		{Name: "the plan says what each side needs", Hint: 3, Run: func(t exercise.T, f PartitionsFunc) {
			n := sizing.Need{Target: 30_000, PerPartition: 10_000, PerConsumer: 5_000, Consumers: 6}
			p, err := f(n)
			if err != nil || p.ForProduce != 3 || p.ForConsume != 6 {
				t.Errorf("Partitions(%+v) = ForProduce %d, ForConsume %d (err %v); want 3 and 6", n, p.ForProduce, p.ForConsume, err)
			}
			if p.Why == "" {
				t.Errorf("Partitions(%+v) returned an empty Why", n)
			}
		}},
	},
	Timeout: 5 * time.Second,
})

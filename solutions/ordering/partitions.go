package ordering

import (
	"errors"
	"fmt"
	"math"

	"github.com/dsgym/dsgym/pkg/ordering/sizing"
)

// Partitions sizes a topic. The load to plan for is Target x (1 +
// Headroom). Producing it needs load / PerPartition partitions; consuming
// it needs load / PerConsumer consumers, and a group uses at most one
// consumer per partition, so as many partitions. The count is the larger
// of the two, rounded up to a multiple of Consumers so that the group at
// its full size gives every consumer the same number of partitions. If the
// load needs more consumers than Consumers, or an input is not positive
// (Headroom may be 0), that is an error naming the input.
//
//dsgym:exercise ordering/partitions
func Partitions(n sizing.Need) (sizing.Plan, error) {
	//dsgym:solution
	switch {
	case n.Target <= 0 || n.PerPartition <= 0 || n.PerConsumer <= 0:
		return sizing.Plan{}, fmt.Errorf("target, per-partition and per-consumer throughput must be positive (got %v, %v, %v records/s)", n.Target, n.PerPartition, n.PerConsumer)
	case n.Consumers < 1:
		return sizing.Plan{}, fmt.Errorf("a group has at least one consumer, not %d", n.Consumers)
	case n.Headroom < 0:
		return sizing.Plan{}, errors.New("headroom cannot be negative")
	}
	load := n.Target * (1 + n.Headroom)
	p := sizing.Plan{
		ForProduce: int(math.Ceil(load / n.PerPartition)),
		ForConsume: int(math.Ceil(load / n.PerConsumer)),
	}
	if p.ForConsume > n.Consumers {
		return p, fmt.Errorf("%.0f records/s needs %d consumers at %.0f records/s each, but the group runs at most %d: make processing faster or run more consumers", load, p.ForConsume, n.PerConsumer, n.Consumers)
	}
	need := max(p.ForProduce, p.ForConsume)
	p.Partitions = (need + n.Consumers - 1) / n.Consumers * n.Consumers
	side := "producing"
	if p.ForConsume > p.ForProduce {
		side = "consuming"
	}
	p.Why = fmt.Sprintf("%s %.0f records/s needs %d partitions; rounded up to %d, a multiple of the %d consumers", side, load, need, p.Partitions, n.Consumers)
	return p, nil
	//dsgym:stub
	// panic("not implemented yet: Partitions: the larger of load/PerPartition and the consumers load/PerConsumer needs, rounded up to a multiple of Consumers; errors for bad input or too few consumers")
	//dsgym:end
}

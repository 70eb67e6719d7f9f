// Package sizing holds the types of chapter 08's partition-count
// calculator (exercise ordering/partitions,
// solutions/ordering.Partitions).
package sizing

// Need is what a topic must carry, from measurements.
type Need struct {
	// Target is the records per second the topic must carry today.
	Target float64
	// Headroom is the growth to plan for, as a share of Target (0.5 is
	// 50% more).
	Headroom float64
	// PerPartition is the records per second one partition sustained in
	// a produce benchmark on the real cluster.
	PerPartition float64
	// PerConsumer is the records per second one consumer instance
	// processed (its processing, not the broker, is usually the limit).
	PerConsumer float64
	// Consumers is the most consumer instances the group will run.
	Consumers int
}

// Plan is the calculator's answer.
type Plan struct {
	Partitions int
	// ForProduce and ForConsume are the partition counts each side
	// alone needs: load / PerPartition, and the consumers the load needs
	// (a partition is read by one consumer of a group).
	ForProduce, ForConsume int
	// Why says, in a sentence, what decided the count.
	Why string
}

// Func is the calculator's signature.
type Func func(Need) (Plan, error)

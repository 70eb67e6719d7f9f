package shard

import (
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/shard/tsdb"
)

// PartitionOf returns the partition that stores customer's point at time
// at: the shard that shardOf gives for the customer, and the start of the
// time bucket of the given width that holds at. Buckets are aligned on the
// Unix epoch in UTC (daily buckets start at midnight UTC, hourly ones on the
// hour), also for times before 1970. width must be a whole number of seconds,
// at least one. An empty customer, a zero time, a nil shardOf or a negative
// shard are errors.
//
//dsgym:exercise shard/partition
func PartitionOf(customer string, at time.Time, width time.Duration, shardOf func(customer string) (int, error)) (tsdb.Partition, error) {
	//dsgym:solution
	if err := checkKey(customer, width, shardOf); err != nil {
		return tsdb.Partition{}, err
	}
	if at.IsZero() {
		return tsdb.Partition{}, fmt.Errorf("partition of %s: the point has no timestamp (zero time)", customer)
	}
	s, err := shardOf(customer)
	if err != nil {
		return tsdb.Partition{}, fmt.Errorf("partition of %s: %w", customer, err)
	}
	if s < 0 {
		return tsdb.Partition{}, fmt.Errorf("partition of %s: shardOf returned shard %d", customer, s)
	}
	return tsdb.Partition{Shard: s, Bucket: bucketStart(at, width)}, nil
	//dsgym:stub
	// panic("not implemented yet: PartitionOf: return (shardOf(customer), start of the UTC time bucket of width holding at); errors for bad input")
	//dsgym:end
}

// PartitionsBetween returns, in time order, the partitions a read of
// customer's points in [from, to) must touch: one per time bucket that
// overlaps the range, no more. An empty range (to == from) touches none; a
// range that ends before it starts is an error, and so is a range of more
// than 2^20 buckets (a read that large is a mistake, not a query).
//
//dsgym:exercise shard/partition
func PartitionsBetween(customer string, from, to time.Time, width time.Duration, shardOf func(customer string) (int, error)) ([]tsdb.Partition, error) {
	//dsgym:solution
	if err := checkKey(customer, width, shardOf); err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() {
		return nil, fmt.Errorf("partitions of %s: zero time in range [%v, %v)", customer, from, to)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("partitions of %s: range ends (%s) before it starts (%s)", customer, to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	if to.Equal(from) {
		return nil, nil
	}
	first := bucketStart(from, width)
	last := bucketStart(to.Add(-time.Nanosecond), width) // the range is half-open
	n := int64(last.Sub(first)/width) + 1
	if n > 1<<20 || n < 1 {
		return nil, fmt.Errorf("partitions of %s: [%s, %s) spans %d buckets of %v; read it in pieces", customer, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), n, width)
	}
	s, err := shardOf(customer)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", customer, err)
	}
	if s < 0 {
		return nil, fmt.Errorf("partitions of %s: shardOf returned shard %d", customer, s)
	}
	out := make([]tsdb.Partition, 0, n)
	for b := first; !b.After(last); b = b.Add(width) {
		out = append(out, tsdb.Partition{Shard: s, Bucket: b})
	}
	return out, nil
	//dsgym:stub
	// panic("not implemented yet: PartitionsBetween: return one partition per time bucket overlapping [from, to), in time order; an error when to is before from")
	//dsgym:end
}

//dsgym:solution

// checkKey validates the arguments both functions share.
//
//dsgym:exercise shard/partition
func checkKey(customer string, width time.Duration, shardOf func(string) (int, error)) error {
	switch {
	case customer == "":
		return errors.New("partition: empty customer")
	case shardOf == nil:
		return errors.New("partition: nil shardOf")
	case width < time.Second || width%time.Second != 0:
		return fmt.Errorf("partition: bucket width must be a whole number of seconds, at least 1s; got %v", width)
	}
	return nil
}

// bucketStart returns the start of the width-wide bucket holding at,
// counting buckets from the Unix epoch and rounding down (floor, not
// truncation toward zero, so 1969 lands in the right bucket).
//
//dsgym:exercise shard/partition
func bucketStart(at time.Time, width time.Duration) time.Time {
	sec, w := at.Unix(), int64(width/time.Second)
	r := sec % w
	if r < 0 {
		r += w
	}
	return time.Unix(sec-r, 0).UTC()
}

//dsgym:stub
//dsgym:end

// Package tsdb is the data model of the sharded time-series store in
// notebooks/04-sharding: a [Point] of a customer's metrics and the
// [Partition] it is stored in, the composite key (shard of the customer,
// time bucket).
//
// It imports nothing of the course, so that the reference solutions
// (solutions/shard), the learner's exercise code and the store
// (pkg/shard/store) all speak the same types.
package tsdb

import (
	"fmt"
	"time"
)

// Point is one measurement: a value at an instant.
type Point struct {
	At    time.Time
	Value float64
}

// String formats the point as "2025-10-26T13:04:05Z=1.5".
func (p Point) String() string {
	return p.At.UTC().Format(time.RFC3339Nano) + "=" + fmt.Sprint(p.Value)
}

// Partition identifies where a point is stored: the shard chosen by hashing
// the customer (or one of its salted sub-keys), and the time bucket holding
// the point's timestamp. Bucket is the bucket's start, in UTC.
//
// A range read for one customer touches one partition per bucket (per salt);
// retention drops whole partitions, or a customer's whole slice of one.
type Partition struct {
	Shard  int
	Bucket time.Time
}

// String formats the partition the way a storage engine could name it on
// disk: "s0007/2025-10-26T13:00Z".
func (p Partition) String() string {
	return fmt.Sprintf("s%04d/%s", p.Shard, p.Bucket.UTC().Format("2006-01-02T15:04Z"))
}

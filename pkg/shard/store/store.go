// Package store is the time-series store of notebooks/04-sharding: points
// of many customers, partitioned by the composite key (shard of the
// customer's routing key, time bucket).
//
//   - Writes go to one partition: the shard of hash(customer), or of one of
//     its salted keys when the customer is hot, and the bucket of the
//     point's timestamp.
//   - A read of one customer over [from, to) touches exactly one partition
//     per bucket overlapping the range, per salt in use during the range.
//   - Retention never deletes points one by one: it drops a customer's
//     whole bucket once the bucket's end is older than the customer's
//     retention.
//
// The composite key and the salted read are solutions/shard's PartitionOf,
// PartitionsBetween and ReadSalted unless the Config supplies others (yours,
// in the notebook). The store keeps everything in memory; it is a model of
// the layout, small and exact, not a database.
package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/hot"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	solution "github.com/dsgym/dsgym/solutions/shard"
)

// PartitionFunc is the composite key: the partition of customer's point at
// time at (see solutions/shard.PartitionOf).
type PartitionFunc = func(customer string, at time.Time, width time.Duration, shardOf func(string) (int, error)) (tsdb.Partition, error)

// RangeFunc lists the partitions a read of [from, to) touches (see
// solutions/shard.PartitionsBetween).
type RangeFunc = func(customer string, from, to time.Time, width time.Duration, shardOf func(string) (int, error)) ([]tsdb.Partition, error)

// MergeFunc reads every salt of a customer and merges in time order (see
// solutions/shard.ReadSalted).
type MergeFunc = func(salts int, read func(salt int) ([]tsdb.Point, error)) ([]tsdb.Point, error)

// Config configures a store.
type Config struct {
	// Partitioner maps routing keys to shards.
	Partitioner shard.Partitioner
	// Bucket is the width of a time bucket (an hour, a day).
	Bucket time.Duration
	// Retention is how long a customer's points are kept unless Policies
	// says otherwise.
	Retention time.Duration
	// Policies holds per-customer retention.
	Policies map[string]time.Duration
	// Salts is the salt routing table for hot customers (nil: none salted).
	Salts *hot.SaltTable
	// PointBytes is the stored size of one point (default 16).
	PointBytes int
	// PartitionOf, PartitionsBetween and ReadSalted default to the
	// reference solutions.
	PartitionOf       PartitionFunc
	PartitionsBetween RangeFunc
	ReadSalted        MergeFunc
}

// Store holds points in partitions.
type Store struct {
	cfg     Config
	shardOf func(string) (int, error)
	parts   map[tsdb.Partition]*partition
	writes  map[string]uint64 // per customer, to rotate over its salts
}

type partition struct {
	series map[string]*series // by routing key
}

type series struct {
	customer string
	points   []tsdb.Point // in time order
}

// New returns an empty store.
func New(cfg Config) (*Store, error) {
	switch {
	case cfg.Partitioner == nil:
		return nil, errors.New("store: no partitioner")
	case cfg.Bucket < time.Second || cfg.Bucket%time.Second != 0:
		return nil, fmt.Errorf("store: bucket width must be a whole number of seconds, at least 1s; got %v", cfg.Bucket)
	case cfg.Retention <= 0:
		return nil, fmt.Errorf("store: retention must be positive, got %v", cfg.Retention)
	case cfg.PointBytes < 0:
		return nil, fmt.Errorf("store: point size must be >= 0, got %d", cfg.PointBytes)
	}
	for c, r := range cfg.Policies {
		if c == "" || r <= 0 {
			return nil, fmt.Errorf("store: retention policy %q: %v must be positive for a named customer", c, r)
		}
	}
	if cfg.PointBytes == 0 {
		cfg.PointBytes = 16
	}
	if cfg.PartitionOf == nil {
		cfg.PartitionOf = solution.PartitionOf
	}
	if cfg.PartitionsBetween == nil {
		cfg.PartitionsBetween = solution.PartitionsBetween
	}
	if cfg.ReadSalted == nil {
		cfg.ReadSalted = solution.ReadSalted
	}
	return &Store{cfg: cfg, shardOf: shard.ShardFunc(cfg.Partitioner), parts: map[tsdb.Partition]*partition{}, writes: map[string]uint64{}}, nil
}

// Write stores customer's point and returns the partition it went to. A
// salted customer's writes rotate over its salts in effect at the point's
// time.
func (s *Store) Write(customer string, p tsdb.Point) (tsdb.Partition, error) {
	if customer == "" {
		return tsdb.Partition{}, shard.ErrEmptyKey
	}
	salts := 1
	if s.cfg.Salts != nil {
		salts = s.cfg.Salts.At(customer, p.At)
	}
	salt := int(s.writes[customer] % uint64(salts))
	key, err := shard.SaltedKey(customer, salt)
	if err != nil {
		return tsdb.Partition{}, err
	}
	part, err := s.cfg.PartitionOf(key, p.At, s.cfg.Bucket, s.shardOf)
	if err != nil {
		return tsdb.Partition{}, err
	}
	s.writes[customer]++
	pt := s.parts[part]
	if pt == nil {
		pt = &partition{series: map[string]*series{}}
		s.parts[part] = pt
	}
	se := pt.series[key]
	if se == nil {
		se = &series{customer: customer}
		pt.series[key] = se
	}
	n := len(se.points)
	if n == 0 || !p.At.Before(se.points[n-1].At) {
		se.points = append(se.points, p)
	} else { // a late point: insert it in order, after equal timestamps
		i := sort.Search(n, func(i int) bool { return se.points[i].At.After(p.At) })
		se.points = append(se.points, tsdb.Point{})
		copy(se.points[i+1:], se.points[i:])
		se.points[i] = p
	}
	return part, nil
}

// ReadStats describes what a read touched.
type ReadStats struct {
	Salts      int              // salts fanned out over
	Partitions []tsdb.Partition // partitions looked up, salt by salt
	Points     int              // points returned
}

// Read returns customer's points in [from, to), in time order, and what the
// read touched.
func (s *Store) Read(customer string, from, to time.Time) ([]tsdb.Point, ReadStats, error) {
	if customer == "" {
		return nil, ReadStats{}, shard.ErrEmptyKey
	}
	if to.Before(from) {
		return nil, ReadStats{}, fmt.Errorf("store: read of %s: range ends (%s) before it starts (%s)", customer, to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	salts := 1
	if s.cfg.Salts != nil {
		var err error
		if salts, err = s.cfg.Salts.Span(customer, from, to); err != nil {
			return nil, ReadStats{}, err
		}
	}
	st := ReadStats{Salts: salts}
	pts, err := s.cfg.ReadSalted(salts, func(salt int) ([]tsdb.Point, error) {
		key, err := shard.SaltedKey(customer, salt)
		if err != nil {
			return nil, err
		}
		parts, err := s.cfg.PartitionsBetween(key, from, to, s.cfg.Bucket, s.shardOf)
		if err != nil {
			return nil, err
		}
		var out []tsdb.Point
		for _, part := range parts {
			st.Partitions = append(st.Partitions, part)
			pt := s.parts[part]
			if pt == nil {
				continue
			}
			se := pt.series[key]
			if se == nil {
				continue
			}
			lo := sort.Search(len(se.points), func(i int) bool { return !se.points[i].At.Before(from) })
			hi := sort.Search(len(se.points), func(i int) bool { return !se.points[i].At.Before(to) })
			out = append(out, se.points[lo:hi]...)
		}
		return out, nil
	})
	if err != nil {
		return nil, st, err
	}
	st.Points = len(pts)
	return pts, st, nil
}

// Retention returns customer's retention.
func (s *Store) Retention(customer string) time.Duration {
	if r, ok := s.cfg.Policies[customer]; ok {
		return r
	}
	return s.cfg.Retention
}

// ExpireStats is what an expiry pass deleted.
type ExpireStats struct {
	Buckets    int // customer buckets dropped (one series in one partition)
	Partitions int // partitions left empty and dropped
	Points     int
	Bytes      int64
}

// Expire drops, at time now, every customer bucket whose end is at least
// the customer's retention in the past: whole buckets, never single points.
// A point therefore lives between its retention and its retention plus one
// bucket width. Salt history older than the longest retention is pruned.
func (s *Store) Expire(now time.Time) (ExpireStats, error) {
	if now.IsZero() {
		return ExpireStats{}, errors.New("store: expire at zero time")
	}
	var st ExpireStats
	longest := s.cfg.Retention
	for _, r := range s.cfg.Policies {
		longest = max(longest, r)
	}
	for key, pt := range s.parts {
		end := key.Bucket.Add(s.cfg.Bucket)
		for rk, se := range pt.series {
			if end.Add(s.Retention(se.customer)).After(now) {
				continue
			}
			st.Buckets++
			st.Points += len(se.points)
			st.Bytes += int64(len(se.points)) * int64(s.cfg.PointBytes)
			delete(pt.series, rk)
		}
		if len(pt.series) == 0 {
			delete(s.parts, key)
			st.Partitions++
		}
	}
	if s.cfg.Salts != nil {
		s.cfg.Salts.Prune(now.Add(-longest - s.cfg.Bucket))
	}
	return st, nil
}

// Usage is one shard's stored data.
type Usage struct {
	Partitions int
	Points     int
	Bytes      int64
}

// Usage returns every shard's stored data, by shard id.
func (s *Store) Usage() map[int]Usage {
	out := map[int]Usage{}
	for _, id := range s.cfg.Partitioner.Shards() {
		out[id] = Usage{}
	}
	for key, pt := range s.parts {
		u := out[key.Shard]
		u.Partitions++
		for _, se := range pt.series {
			u.Points += len(se.points)
		}
		u.Bytes = int64(u.Points) * int64(s.cfg.PointBytes)
		out[key.Shard] = u
	}
	return out
}

// Partitions returns the partitions holding data, sorted by bucket then
// shard.
func (s *Store) Partitions() []tsdb.Partition {
	out := make([]tsdb.Partition, 0, len(s.parts))
	for p := range s.parts {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Bucket.Equal(out[j].Bucket) {
			return out[i].Bucket.Before(out[j].Bucket)
		}
		return out[i].Shard < out[j].Shard
	})
	return out
}

// Package ingest simulates the write path of the sharded metrics store in
// virtual time: every event of a workload is drawn (which customer sent it),
// routed to its partition (the shard of the customer's routing key, the
// time bucket of its timestamp) and counted per shard and per partition.
//
// It is fast enough to push one simulated second of the interview's 10M
// events/s through in well under a second of wall time (see the benchmark),
// so the notebook can measure per-shard load at the real scale instead of
// extrapolating from a sample. Same configuration and seed, same counts.
package ingest

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	"github.com/dsgym/dsgym/pkg/sim"
)

// Config describes one run.
type Config struct {
	// Workload is the customers and their rates.
	Workload *workload.Workload
	// Partitioner maps routing keys to shards (at most 32767 shards).
	Partitioner shard.Partitioner
	// Salts gives the salt factor of salted customers, by customer index
	// (absent or 1: not salted). A salted customer's events rotate over the
	// shards of its salts 0..k-1 (at most 32768 salted customers).
	Salts map[int]int
	// Start and Duration delimit the simulated interval of virtual time.
	Start    time.Time
	Duration time.Duration
	// Bucket is the width of time buckets.
	Bucket time.Duration
	// Stream names the random stream (runs with different names draw
	// different events).
	Stream string
}

// Result counts the events of a run.
type Result struct {
	Events     uint64
	Shards     []int    // shard ids, in slot order
	PerShard   []uint64 // events per shard, in slot order
	Bytes      []int64  // bytes per shard (events x point size)
	Partitions map[tsdb.Partition]uint64
}

// Loads returns the per-shard event counts as loads in events/s.
func (r Result) Loads(d time.Duration) []float64 {
	out := make([]float64, len(r.PerShard))
	for i, c := range r.PerShard {
		out[i] = float64(c) / d.Seconds()
	}
	return out
}

const saltedBit = 0x8000

// Run pushes every event of the interval through partitioning and
// accounting. Events are spaced evenly in virtual time; which customer sends
// each one is drawn in proportion to the customers' rates.
func Run(c Config) (Result, error) {
	switch {
	case c.Workload == nil:
		return Result{}, errors.New("ingest: no workload")
	case c.Partitioner == nil:
		return Result{}, errors.New("ingest: no partitioner")
	case c.Duration <= 0:
		return Result{}, fmt.Errorf("ingest: duration must be positive, got %v", c.Duration)
	case c.Bucket < time.Second || c.Bucket%time.Second != 0:
		return Result{}, fmt.Errorf("ingest: bucket width must be a whole number of seconds, got %v", c.Bucket)
	case c.Start.IsZero():
		return Result{}, errors.New("ingest: zero start time")
	}
	ids := c.Partitioner.Shards()
	if len(ids) >= saltedBit {
		return Result{}, fmt.Errorf("ingest: at most %d shards, got %d", saltedBit-1, len(ids))
	}
	slotOf := make(map[int]uint16, len(ids))
	for i, id := range ids {
		slotOf[id] = uint16(i)
	}
	wl := c.Workload
	names := wl.IDs()
	codes := make([]uint16, len(names))
	for i, name := range names {
		codes[i] = slotOf[c.Partitioner.ShardOf(shard.Hash(name))]
	}
	type salted struct {
		slots []uint16
		next  int
	}
	var saltedTab []salted
	for i := range names { // in index order, for determinism
		k, ok := c.Salts[i]
		if !ok || k == 1 {
			continue
		}
		if k < 1 {
			return Result{}, fmt.Errorf("ingest: customer %d has salt factor %d; it must be at least 1", i, k)
		}
		if len(saltedTab) == saltedBit {
			return Result{}, fmt.Errorf("ingest: at most %d salted customers", saltedBit)
		}
		sh, err := shard.SaltedShards(c.Partitioner, names[i], k)
		if err != nil {
			return Result{}, err
		}
		s := salted{slots: make([]uint16, k)}
		for j, id := range sh {
			s.slots[j] = slotOf[id]
		}
		codes[i] = saltedBit | uint16(len(saltedTab))
		saltedTab = append(saltedTab, s)
	}
	for i := range c.Salts {
		if i < 0 || i >= len(names) {
			return Result{}, fmt.Errorf("ingest: salted customer %d does not exist (%d customers)", i, len(names))
		}
	}
	sampler, err := wl.Sampler().Coded(codes)
	if err != nil {
		return Result{}, err
	}

	rate := wl.Config().Rate
	total := uint64(math.Round(rate * c.Duration.Seconds()))
	res := Result{Shards: ids, PerShard: make([]uint64, len(ids)), Bytes: make([]int64, len(ids)), Partitions: map[tsdb.Partition]uint64{}, Events: total}
	rng := wyrand(sim.NewRand(wl.Config().Seed, "ingest/"+c.Stream).Uint64())
	counts := make([]uint64, len(ids))
	start := c.Start.UTC()
	end := start.Add(c.Duration)
	bucket := bucketStart(start, c.Bucket)
	var done uint64
	for done < total {
		next := bucket.Add(c.Bucket)
		// events j with start + j/rate < next, i.e. j < (next-start)*rate
		upto := total
		if next.Before(end) {
			upto = min(total, uint64(math.Ceil(next.Sub(start).Seconds()*rate)))
		}
		clear(counts)
		for range upto - done {
			code := sampler.Pick(rng.next())
			if code&saltedBit != 0 {
				s := &saltedTab[code&^saltedBit]
				code = s.slots[s.next]
				if s.next++; s.next == len(s.slots) {
					s.next = 0
				}
			}
			counts[code]++
		}
		for slot, n := range counts {
			if n > 0 {
				res.PerShard[slot] += n
				res.Partitions[tsdb.Partition{Shard: ids[slot], Bucket: bucket}] += n
			}
		}
		done = upto
		bucket = next
	}
	pb := int64(wl.Config().PointBytes)
	for i, n := range res.PerShard {
		res.Bytes[i] = int64(n) * pb
	}
	return res, nil
}

func bucketStart(t time.Time, w time.Duration) time.Time {
	sec, ws := t.Unix(), int64(w/time.Second)
	r := sec % ws
	if r < 0 {
		r += ws
	}
	return time.Unix(sec-r, 0).UTC()
}

// wyrand is a tiny, fast generator (Wang Yi's wyrand); seeded from the
// simulation's named stream, it keeps the hot loop free of interface calls.
type wyrand uint64

func (w *wyrand) next() uint64 {
	*w += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(uint64(*w), uint64(*w)^0xe7037ed1a0b428db)
	return hi ^ lo
}

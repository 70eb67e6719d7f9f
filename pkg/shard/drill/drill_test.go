package drill

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/shard/hot"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	"github.com/dsgym/dsgym/solutions/shard"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	t.Run("jump", func(t *testing.T) { Jump.Passes(t, shard.Jump) })
	t.Run("partition", func(t *testing.T) { PartitionOf.Passes(t, PartitionOf.Reference) })
	t.Run("salting", func(t *testing.T) { ReadSalted.Passes(t, shard.ReadSalted) })
	t.Run("detector", func(t *testing.T) { NewDetector.Passes(t, shard.NewDetector) })
}

var errBad = errors.New("bad input")

func TestJumpChecksCatchKnownBadVersions(t *testing.T) {
	valid := func(n int) error {
		if n < 1 || n > math.MaxInt32 {
			return errBad
		}
		return nil
	}
	modulo := func(k uint64, n int) (int, error) {
		if err := valid(n); err != nil {
			return 0, err
		}
		return int(k % uint64(n)), nil
	}
	returnsJ := func(k uint64, n int) (int, error) { // off by one: returns the jump target, not the bucket
		if err := valid(n); err != nil {
			return 0, err
		}
		b, j := int64(-1), int64(0)
		for j < int64(n) {
			b = j
			k = k*2862933555777941757 + 1
			j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((k>>33)+1)))
		}
		return int(j), nil
	}
	shift32 := func(k uint64, n int) (int, error) { // still monotone, but not the published algorithm
		if err := valid(n); err != nil {
			return 0, err
		}
		b, j := int64(-1), int64(0)
		for j < int64(n) {
			b = j
			k = k*2862933555777941757 + 1
			j = int64(float64(b+1) * (float64(int64(1)<<32) / float64((k>>32)+1)))
		}
		return int(b), nil
	}
	wrongConstant := func(k uint64, n int) (int, error) {
		if err := valid(n); err != nil {
			return 0, err
		}
		b, j := int64(-1), int64(0)
		for j < int64(n) {
			b = j
			k = k*6364136223846793005 + 1
			j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((k>>33)+1)))
		}
		return int(b), nil
	}
	noValidation := func(k uint64, n int) (int, error) {
		b, j := int64(-1), int64(0)
		for j < int64(n) {
			b = j
			k = k*2862933555777941757 + 1
			j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((k>>33)+1)))
		}
		return int(b), nil
	}
	calls := 0
	stateful := func(k uint64, n int) (int, error) { // depends on a hidden counter
		calls++
		return shard.Jump(k^uint64(calls&1), n)
	}
	allInZero := func(k uint64, n int) (int, error) {
		if err := valid(n); err != nil {
			return 0, err
		}
		return 0, nil
	}
	tests := []struct {
		name   string
		bad    JumpFunc
		checks []string
	}{
		{"modulo N (not consistent)", modulo, []string{"adding a bucket moves keys only into the new bucket", "going from 10 to 11 buckets moves 1/11 of the keys (within 10%)"}},
		{"returning the jump target instead of the bucket", returnsJ, []string{"every bucket is in [0, buckets)"}},
		{"a jump with the wrong shift", shift32, []string{"agrees with Lamping and Veach's published algorithm on 10,000 keys"}},
		{"a key truncated to 32 bits", func(k uint64, n int) (int, error) { return shard.Jump(uint64(uint32(k)), n) }, []string{"agrees with Lamping and Veach's published algorithm on 10,000 keys"}},
		{"the wrong LCG constant", wrongConstant, []string{"agrees with Lamping and Veach's published algorithm on 10,000 keys"}},
		{"no check of the bucket count", noValidation, []string{"a bucket count below 1 or above 2^31-1 is an error, not a panic"}},
		{"a hidden state", stateful, []string{"the same key and bucket count always give the same bucket"}},
		{"every key in bucket 0", allInZero, []string{"10 buckets each get 10% of 100,000 keys (max/mean <= 1.03)", "going from 10 to 11 buckets moves 1/11 of the keys (within 10%)"}},
		{"one bucket not giving 0", func(k uint64, n int) (int, error) { b, err := returnsJ(k, n); return b % (n + 1), err }, []string{"with one bucket every key is in bucket 0"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { Jump.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestPartitionChecksCatchKnownBadVersions(t *testing.T) {
	ref := PartitionOf.Reference
	with := func(of func(string, time.Time, time.Duration, ShardOfFunc) (tsdb.Partition, error)) PartitionFuncs {
		return PartitionFuncs{Of: of, Between: ref.Between}
	}
	withBetween := func(b func(string, time.Time, time.Time, time.Duration, ShardOfFunc) ([]tsdb.Partition, error)) PartitionFuncs {
		return PartitionFuncs{Of: ref.Of, Between: b}
	}
	localZone := with(func(c string, at time.Time, w time.Duration, s ShardOfFunc) (tsdb.Partition, error) {
		p, err := ref.Of(c, at, w, s)
		p.Bucket = p.Bucket.In(at.Location()) // forgets to keep UTC
		return p, err
	})
	towardZero := with(func(c string, at time.Time, w time.Duration, s ShardOfFunc) (tsdb.Partition, error) {
		p, err := ref.Of(c, at, w, s)
		if err == nil {
			sec, ws := at.Unix(), int64(w/time.Second)
			p.Bucket = time.Unix(sec/ws*ws, 0).UTC() // truncates toward 1970
		}
		return p, err
	})
	truncate := with(func(c string, at time.Time, w time.Duration, s ShardOfFunc) (tsdb.Partition, error) {
		p, err := ref.Of(c, at, w, s)
		p.Bucket = at.UTC().Truncate(w) // aligned on year 1, not 1970
		return p, err
	})
	ownHash := with(func(c string, at time.Time, w time.Duration, s ShardOfFunc) (tsdb.Partition, error) {
		p, err := ref.Of(c, at, w, s)
		p.Shard = len(c) % 16 // ignores shardOf
		return p, err
	})
	lax := with(func(c string, at time.Time, w time.Duration, s ShardOfFunc) (tsdb.Partition, error) {
		if s == nil || w <= 0 {
			return tsdb.Partition{}, errBad
		}
		sh, _ := s(c)
		sec, ws := at.Unix(), int64(w/time.Second)
		if ws == 0 {
			return tsdb.Partition{}, errBad
		}
		r := ((sec % ws) + ws) % ws
		return tsdb.Partition{Shard: sh, Bucket: time.Unix(sec-r, 0).UTC()}, nil // accepts "", zero time, 1.5s, failing shardOf
	})
	inclusiveEnd := withBetween(func(c string, from, to time.Time, w time.Duration, s ShardOfFunc) ([]tsdb.Partition, error) {
		if to.Equal(from) {
			return nil, nil
		}
		return ref.Between(c, from, to.Add(time.Nanosecond), w, s) // [from, to]
	})
	byDuration := withBetween(func(c string, from, to time.Time, w time.Duration, s ShardOfFunc) ([]tsdb.Partition, error) {
		all, err := ref.Between(c, from, to, w, s)
		if err != nil || len(all) == 0 {
			return all, err
		}
		n := max(1, int(to.Sub(from)/w)) // counts whole widths, not overlapping buckets
		return all[:min(n, len(all))], nil
	})
	reversed := withBetween(func(c string, from, to time.Time, w time.Duration, s ShardOfFunc) ([]tsdb.Partition, error) {
		all, err := ref.Between(c, from, to, w, s)
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
		return all, err
	})
	silentReverse := withBetween(func(c string, from, to time.Time, w time.Duration, s ShardOfFunc) ([]tsdb.Partition, error) {
		if to.Before(from) {
			return nil, nil
		}
		return ref.Between(c, from, to, w, s)
	})
	tests := []struct {
		name   string
		bad    PartitionFuncs
		checks []string
	}{
		{"buckets in the point's time zone", localZone, []string{"buckets are aligned on the Unix epoch in UTC, whatever the point's time zone"}},
		{"integer division toward zero", towardZero, []string{"times before 1970 land in the bucket that holds them"}},
		{"time.Truncate (aligned on year 1)", truncate, []string{"buckets are aligned on the Unix epoch in UTC, whatever the point's time zone"}},
		{"its own hash instead of shardOf", ownHash, []string{"the shard comes from shardOf(customer), the bucket from the time"}},
		{"no validation", lax, []string{"bad input to PartitionOf is an error: empty customer, zero time, bad width, nil or failing shardOf"}},
		{"an inclusive end", inclusiveEnd, []string{"a read ending exactly on a bucket boundary does not touch the next bucket", "PartitionsBetween lists exactly the partitions PartitionOf gives inside the range, on 300 random reads"}},
		{"counting whole widths", byDuration, []string{"a three-day read starting mid-day touches four daily partitions, in time order"}},
		{"partitions in reverse order", reversed, []string{"a three-day read starting mid-day touches four daily partitions, in time order"}},
		{"a reversed range read as empty", silentReverse, []string{"an empty range touches nothing, and a range ending before it starts is an error"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { PartitionOf.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

func TestSaltingChecksCatchKnownBadVersions(t *testing.T) {
	concat := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if k < 1 || read == nil {
			return nil, errBad
		}
		var out []tsdb.Point
		for s := range k {
			p, err := read(s)
			if err != nil {
				return nil, fmt.Errorf("salt %d: %w", s, err)
			}
			out = append(out, p...)
		}
		return out, nil
	}
	unstable := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		out, err := concat(k, read)
		sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
		return out, err
	}
	fromOne := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if k < 1 || read == nil {
			return nil, errBad
		}
		return shard.ReadSalted(k, func(s int) ([]tsdb.Point, error) {
			if s == 0 {
				return read(k) // reads salts 1..k: salt 0, the unsalted data, is lost
			}
			return read(s)
		})
	}
	twice := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if read != nil {
			_, _ = read(0) // a probe read before the real ones
		}
		return shard.ReadSalted(k, read)
	}
	dedupe := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		out, err := shard.ReadSalted(k, read)
		var kept []tsdb.Point
		for i, p := range out {
			if i == 0 || !p.At.Equal(out[i-1].At) {
				kept = append(kept, p)
			}
		}
		return kept, err
	}
	skipsErrors := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if read == nil {
			return nil, errBad
		}
		return shard.ReadSalted(k, func(s int) ([]tsdb.Point, error) {
			p, err := read(s)
			if err != nil {
				return nil, nil // a failed salt silently reads as empty
			}
			return p, nil
		})
	}
	opaqueError := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		out, err := shard.ReadSalted(k, read)
		if err != nil {
			return nil, errors.New("read failed")
		}
		return out, nil
	}
	trusting := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if k < 1 || read == nil {
			return nil, errBad
		}
		out, err := concat(k, read)
		sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) }) // hides a salt's disorder
		return out, err
	}
	lax := func(k int, read func(int) ([]tsdb.Point, error)) ([]tsdb.Point, error) {
		if k < 1 || read == nil {
			return nil, nil
		}
		return shard.ReadSalted(k, read)
	}
	tests := []struct {
		name   string
		bad    ReadSaltedFunc
		checks []string
	}{
		{"concatenating the salts", concat, []string{"the merged points are in time order", "equal timestamps come in salt order, then in each salt's order"}},
		{"an unstable sort", unstable, []string{"equal timestamps come in salt order, then in each salt's order"}},
		{"reading salts 1..k", fromOne, []string{"every salt 0..k-1 is read exactly once", "an unsalted customer (one salt) reads back exactly its points"}},
		{"reading a salt twice", twice, []string{"every salt 0..k-1 is read exactly once"}},
		{"dropping points with equal timestamps", dedupe, []string{"no point is lost or duplicated"}},
		{"ignoring a failed read", skipsErrors, []string{"a failed read is an error that names the salt"}},
		{"an error that hides the cause", opaqueError, []string{"a failed read is an error that names the salt"}},
		{"sorting away a salt's disorder", trusting, []string{"a salt returning points out of time order is an error"}},
		{"no validation", lax, []string{"salts below 1 and a nil read are errors"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { ReadSalted.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

// Known-bad detectors, each wrong in one way.

// neverCools keeps counting forever: Tick does nothing.
type neverCools struct{ hot.Detector }

func (neverCools) Tick() {}

// tumbling forgets everything at each Tick (a window of one slot).
type tumbling struct {
	cfg hot.Config
	hot.Detector
}

func (d *tumbling) Tick() { d.Detector, _ = shard.NewDetector(d.cfg) }

// exact keeps a counter for every customer (no memory bound).
type exact struct {
	cfg   hot.Config
	slots []map[string]uint64
	cur   int
}

func (d *exact) Observe(c string, n uint64) { d.slots[d.cur][c] += n }
func (d *exact) Tick() {
	d.cur = (d.cur + 1) % len(d.slots)
	d.slots[d.cur] = map[string]uint64{}
}
func (d *exact) Estimate(c string) uint64 {
	var s uint64
	for _, m := range d.slots {
		s += m[c]
	}
	return s
}
func (d *exact) Counters() int {
	n := 0
	for _, m := range d.slots {
		n += len(m)
	}
	return n
}
func (d *exact) Hot() []hot.Hit {
	var total uint64
	all := map[string]bool{}
	for _, m := range d.slots {
		for c, n := range m {
			total += n
			all[c] = true
		}
	}
	var out []hot.Hit
	for c := range all {
		if e := d.Estimate(c); total > 0 && float64(e) >= d.cfg.Threshold*float64(total) {
			out = append(out, hot.Hit{Customer: c, Count: e})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Customer < out[j].Customer
	})
	return out
}

// firstComers counts only the first Capacity customers of a slot and drops
// newcomers once full (a bounded map without Space-Saving's eviction).
type firstComers struct{ exact }

func (d *firstComers) Observe(c string, n uint64) {
	m := d.slots[d.cur]
	if _, ok := m[c]; ok || len(m) < d.cfg.Capacity {
		m[c] += n
	}
}

// everyone reports every customer it holds, hot or not.
type everyone struct {
	hot.Detector
	seen map[string]bool
}

func (d *everyone) Observe(c string, n uint64) { d.seen[c] = true; d.Detector.Observe(c, n) }
func (d *everyone) Hot() []hot.Hit {
	var out []hot.Hit
	for c := range d.seen {
		out = append(out, hot.Hit{Customer: c, Count: d.Estimate(c)})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || (out[i].Count == out[j].Count && out[i].Customer < out[j].Customer)
	})
	return out
}

// ascending lists hot customers lightest first.
type ascending struct{ hot.Detector }

func (d ascending) Hot() []hot.Hit {
	h := d.Detector.Hot()
	sort.Slice(h, func(i, j int) bool { return h[i].Count < h[j].Count })
	return h
}

// lastSlotOnly estimates from the current slot alone.
type lastSlotOnly struct {
	cfg hot.Config
	hot.Detector
	cur hot.Detector
}

func (d *lastSlotOnly) Observe(c string, n uint64) { d.Detector.Observe(c, n); d.cur.Observe(c, n) }
func (d *lastSlotOnly) Tick() {
	d.Detector.Tick()
	d.cur, _ = shard.NewDetector(hot.Config{Slots: 1, Capacity: d.cfg.Capacity, Threshold: d.cfg.Threshold})
}
func (d *lastSlotOnly) Estimate(c string) uint64 { return d.cur.Estimate(c) }

// nilOnEmpty divides by the window's total without checking for zero.
type nilOnEmpty struct{ hot.Detector }

func (d nilOnEmpty) Hot() []hot.Hit {
	h := d.Detector.Hot()
	if len(h) == 0 {
		return []hot.Hit{{Customer: "?", Count: 0}} // a made-up entry when nothing was seen
	}
	return h
}

// lowerBound reports count - error, Space-Saving's guaranteed lower bound,
// as the estimate: it under-counts customers it let in late.
type lowerBound struct {
	hot.Detector
	cfg   hot.Config
	total uint64
}

func (d *lowerBound) Observe(c string, n uint64) { d.total += n; d.Detector.Observe(c, n) }
func (d *lowerBound) Estimate(c string) uint64 {
	est, slack := d.Detector.Estimate(c), d.total/uint64(d.cfg.Capacity)/2
	if est < slack {
		return 0
	}
	return est - slack
}

// tiesReversed breaks ties by name, backwards.
type tiesReversed struct{ hot.Detector }

func (d tiesReversed) Hot() []hot.Hit {
	h := d.Detector.Hot()
	sort.SliceStable(h, func(i, j int) bool {
		if h[i].Count != h[j].Count {
			return h[i].Count > h[j].Count
		}
		return h[i].Customer > h[j].Customer
	})
	return h
}

func TestDetectorChecksCatchKnownBadVersions(t *testing.T) {
	ref := func(cfg hot.Config) (hot.Detector, error) { return shard.NewDetector(cfg) }
	wrap := func(w func(cfg hot.Config, d hot.Detector) hot.Detector) NewDetectorFunc {
		return func(cfg hot.Config) (hot.Detector, error) {
			d, err := ref(cfg)
			if err != nil {
				return nil, err
			}
			return w(cfg, d), nil
		}
	}
	newExact := func(cfg hot.Config) *exact {
		e := &exact{cfg: cfg, slots: make([]map[string]uint64, cfg.Slots)}
		for i := range e.slots {
			e.slots[i] = map[string]uint64{}
		}
		return e
	}
	tests := []struct {
		name   string
		bad    NewDetectorFunc
		checks []string
	}{
		{"an estimate that subtracts the error bound", wrap(func(cfg hot.Config, d hot.Detector) hot.Detector { return &lowerBound{Detector: d, cfg: cfg} }),
			[]string{"an estimate never falls below the true count (Space-Saving errs upward only)"}},
		{"ties broken backwards", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return tiesReversed{d} }),
			[]string{"customers with equal counts come in name order"}},
		{"a detector that never cools down", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return neverCools{d} }),
			[]string{"a customer that stops sending cools down after the window"}},
		{"a tumbling window that forgets at every tick", wrap(func(cfg hot.Config, d hot.Detector) hot.Detector { return &tumbling{cfg, d} }),
			[]string{"a burst stays visible for the whole window"}},
		{"a window one slot too long", func(cfg hot.Config) (hot.Detector, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			cfg.Slots++
			return ref(cfg)
		}, []string{"a customer that stops sending cools down after the window"}},
		{"a window one slot too short", func(cfg hot.Config) (hot.Detector, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			cfg.Slots = max(1, cfg.Slots-1)
			return ref(cfg)
		}, []string{"a burst stays visible for the whole window"}},
		{"exact counting with unbounded memory", func(cfg hot.Config) (hot.Detector, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return newExact(cfg), nil
		}, []string{"memory stays bounded: at most Slots x Capacity counters for 100,000 customers"}},
		{"a bounded map that drops newcomers", func(cfg hot.Config) (hot.Detector, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			return &firstComers{*newExact(cfg)}, nil
		}, []string{"a customer that heats up after the summary is full is still detected"}},
		{"no threshold: every customer held is hot", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return &everyone{d, map[string]bool{}} }),
			[]string{"every customer at or above the threshold is reported, none below half of it"}},
		{"lightest first", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return ascending{d} }),
			[]string{"hot customers come heaviest first"}},
		{"estimates from the current slot only", wrap(func(cfg hot.Config, d hot.Detector) hot.Detector {
			cur, _ := shard.NewDetector(hot.Config{Slots: 1, Capacity: cfg.Capacity, Threshold: cfg.Threshold})
			return &lastSlotOnly{cfg, d, cur}
		}), []string{"estimates stay within window/Capacity of the true count"}},
		{"a made-up hot customer in an empty window", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return nilOnEmpty{d} }),
			[]string{"an empty window has no hot customer"}},
		{"no validation of the config", func(cfg hot.Config) (hot.Detector, error) {
			cfg.Slots, cfg.Capacity = max(cfg.Slots, 1), max(cfg.Capacity, 1)
			if !(cfg.Threshold > 0 && cfg.Threshold <= 1) {
				cfg.Threshold = 0.5
			}
			return ref(cfg)
		}, []string{"an invalid config is an error"}},
		{"an undercounting estimate", wrap(func(_ hot.Config, d hot.Detector) hot.Detector { return halfEstimate{d} }),
			[]string{"a customer sending a third of the events is hot, with its count"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) { NewDetector.Catches(t, tt.name, tt.bad, tt.checks...) })
	}
}

// halfEstimate reports half of each count.
type halfEstimate struct{ hot.Detector }

func (d halfEstimate) Hot() []hot.Hit {
	h := d.Detector.Hot()
	for i := range h {
		h[i].Count /= 2
	}
	return h
}

func TestCheckNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for id, names := range map[string][]string{"jump": Jump.Info().Checks, "partition": PartitionOf.Info().Checks, "salting": ReadSalted.Info().Checks, "detector": NewDetector.Info().Checks} {
		for _, n := range names {
			if other, dup := seen[n]; dup {
				t.Errorf("check %q is in both %s and %s", n, id, other)
			}
			seen[n] = id
		}
	}
}

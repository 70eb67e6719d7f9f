// Package lab holds the experiments of notebooks/04-sharding.ipynb, each a
// function from a configuration (seed included) to the numbers a chart
// draws: per-shard balance of each scheme, keys and bytes moved by
// rebalancing, a migration behind the routing layer, per-shard load before
// and after salting a hot customer and the read fan-out it costs, the
// heavy-hitter detector raising and lowering a customer's salt factor over
// time, storage under bucket-level retention, and the capacity plan.
//
// Every experiment is deterministic: the same configuration gives the same
// numbers. The defaults are the notebook's parameters, and the benchmark in
// lab_test.go times all of them together against the chapter's budget.
package lab

import (
	"fmt"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/skew"
	"github.com/dsgym/dsgym/pkg/shard/workload"
	solution "github.com/dsgym/dsgym/solutions/shard"
)

// customerHashes returns the hashes of customers cust-000000.. in order.
func customerHashes(n int) ([]uint64, error) {
	if n < 1 {
		return nil, fmt.Errorf("lab: need at least one customer, got %d", n)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = shard.Hash(workload.ID(i))
	}
	return out, nil
}

// BalanceConfig is the balance experiment: customers with equal rates
// hashed onto shards by each scheme.
type BalanceConfig struct {
	Customers int
	Shards    int
	Specs     []shard.Spec
}

// DefaultBalance is the notebook's balance experiment: 100K customers, 10
// shards, every scheme (the ring with 8 and with 256 virtual nodes).
func DefaultBalance() BalanceConfig {
	return BalanceConfig{Customers: 100_000, Shards: 10, Specs: []shard.Spec{
		{Scheme: shard.Modulo}, {Scheme: shard.Ring, VNodes: 8}, {Scheme: shard.Ring, VNodes: 256}, {Scheme: shard.Jump}, {Scheme: shard.Rendezvous},
	}}
}

// Spread is one scheme's per-shard load.
type Spread struct {
	Spec   shard.Spec
	Shards []int     // shard ids
	Load   []float64 // customers per shard
	Skew   skew.Stats
}

// Balance counts the customers each shard gets under every scheme.
func Balance(c BalanceConfig) ([]Spread, error) {
	if len(c.Specs) == 0 {
		return nil, fmt.Errorf("lab: balance: no scheme to compare")
	}
	hs, err := customerHashes(c.Customers)
	if err != nil {
		return nil, err
	}
	var out []Spread
	for _, sp := range c.Specs {
		p, err := shard.NewN(sp, c.Shards)
		if err != nil {
			return nil, err
		}
		load, err := shard.Load(p, hs, nil)
		if err != nil {
			return nil, err
		}
		st, err := skew.Of(load)
		if err != nil {
			return nil, err
		}
		out = append(out, Spread{Spec: sp, Shards: p.Shards(), Load: load, Skew: st})
	}
	return out, nil
}

// Labels returns "shard 0", "shard 1", ... for a chart's categories.
func Labels(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprintf("shard %d", id)
	}
	return out
}

// MovementConfig is the movement experiment: every scheme going from N to
// N+1 shards, for N in [From, To].
type MovementConfig struct {
	Customers int
	From, To  int
	Specs     []shard.Spec
}

// DefaultMovement is the notebook's: 50K customers, N from 2 to 24.
func DefaultMovement() MovementConfig {
	return MovementConfig{Customers: 50_000, From: 2, To: 24, Specs: []shard.Spec{
		{Scheme: shard.Modulo}, {Scheme: shard.Ring, VNodes: 256}, {Scheme: shard.Jump}, {Scheme: shard.Rendezvous},
	}}
}

// MoveSeries is one scheme's moved fraction for each N.
type MoveSeries struct {
	Spec  shard.Spec
	N     []float64
	Moved []float64 // fraction of keys that change shard from N to N+1
}

// Movement measures, for every scheme and N, the fraction of customers
// whose shard changes when an (N+1)th shard is added. It also returns the
// ideal 1/(N+1).
func Movement(c MovementConfig) (series []MoveSeries, ideal []float64, err error) {
	if c.From < 1 || c.To < c.From {
		return nil, nil, fmt.Errorf("lab: movement: need 1 <= from <= to, got %d..%d", c.From, c.To)
	}
	hs, err := customerHashes(c.Customers)
	if err != nil {
		return nil, nil, err
	}
	for n := c.From; n <= c.To; n++ {
		ideal = append(ideal, 1/float64(n+1))
	}
	owner := make([]int, len(hs))
	for _, sp := range c.Specs {
		s := MoveSeries{Spec: sp}
		p, err := shard.NewN(sp, c.From)
		if err != nil {
			return nil, nil, err
		}
		for i, h := range hs {
			owner[i] = p.ShardOf(h)
		}
		for n := c.From; n <= c.To; n++ {
			if p, err = shard.Grow(p); err != nil {
				return nil, nil, err
			}
			moved := 0
			for i, h := range hs {
				if o := p.ShardOf(h); o != owner[i] {
					moved++
					owner[i] = o
				}
			}
			s.N = append(s.N, float64(n))
			s.Moved = append(s.Moved, float64(moved)/float64(len(hs)))
		}
		series = append(series, s)
	}
	return series, ideal, nil
}

// RebalanceConfig compares what adding and removing a shard moves, in keys
// and in bytes, for each scheme. Bytes follow the workload's Zipf rates: a
// customer's stored bytes are its rate times the retention.
type RebalanceConfig struct {
	Workload workload.Config
	Shards   int
	Remove   int // the shard removed in the "remove a middle shard" case
	Specs    []shard.Spec
}

// DefaultRebalance is the notebook's: the seed's workload on 10 shards,
// removing shard 3.
func DefaultRebalance() RebalanceConfig {
	return RebalanceConfig{Workload: workload.Default(), Shards: 10, Remove: 3, Specs: []shard.Spec{
		{Scheme: shard.Modulo}, {Scheme: shard.Ring, VNodes: 256}, {Scheme: shard.Jump}, {Scheme: shard.Rendezvous},
	}}
}

// Rebalance is one scheme's movement for one change.
type Rebalance struct {
	Spec   shard.Spec
	Change string // "add a shard", "remove the last shard", "remove shard 3"
	Move   shard.Move
}

// Rebalancing measures keys and bytes moved when adding a shard, removing
// the last one, and removing one in the middle.
func Rebalancing(c RebalanceConfig) ([]Rebalance, error) {
	wl, err := workload.New(c.Workload)
	if err != nil {
		return nil, err
	}
	hs, err := shard.Hashes(wl.IDs())
	if err != nil {
		return nil, err
	}
	bytes := wl.Rates()
	perEvent := float64(c.Workload.PointBytes) * c.Workload.Retention.Seconds()
	for i := range bytes {
		bytes[i] *= perEvent
	}
	if c.Remove < 0 || c.Remove >= c.Shards-1 {
		return nil, fmt.Errorf("lab: rebalance: the middle shard to remove must be in [0, %d), got %d", c.Shards-1, c.Remove)
	}
	var out []Rebalance
	for _, sp := range c.Specs {
		p, err := shard.NewN(sp, c.Shards)
		if err != nil {
			return nil, err
		}
		grown, err := shard.Grow(p)
		if err != nil {
			return nil, err
		}
		last, err := shard.Shrink(p, slices.Max(p.Shards()))
		if err != nil {
			return nil, err
		}
		mid, err := shard.Shrink(p, c.Remove)
		if err != nil {
			return nil, err
		}
		for _, ch := range []struct {
			name string
			to   shard.Partitioner
		}{{"add a shard", grown}, {"remove the last shard", last}, {fmt.Sprintf("remove shard %d", c.Remove), mid}} {
			m, err := shard.Moved(p, ch.to, hs, bytes)
			if err != nil {
				return nil, err
			}
			out = append(out, Rebalance{Spec: sp, Change: ch.name, Move: m})
		}
	}
	return out, nil
}

// JumpMoves is the "your Jump" experiment: for N in [from, to], the
// fraction of customers a jump function moves from N to N+1 buckets, the
// same for modulo and the ideal 1/(N+1), and the jump function's max/mean
// over 10 buckets.
type JumpMoves struct {
	N, Jump, Modulo, Ideal []float64
	Balance10              float64
}

// JumpMovement runs jump (yours or the reference) over customers customers.
// A jump function that errors or returns a bucket out of range makes it an
// error, so a broken implementation cannot draw a plausible chart.
func JumpMovement(jump func(key uint64, buckets int) (int, error), customers, from, to int) (JumpMoves, error) {
	if jump == nil {
		return JumpMoves{}, fmt.Errorf("lab: jump movement: nil jump function")
	}
	if from < 1 || to < from {
		return JumpMoves{}, fmt.Errorf("lab: jump movement: need 1 <= from <= to, got %d..%d", from, to)
	}
	hs, err := customerHashes(customers)
	if err != nil {
		return JumpMoves{}, err
	}
	call := func(h uint64, n int) (int, error) {
		b, err := jump(h, n)
		if err != nil {
			return 0, fmt.Errorf("lab: Jump(%d, %d): %w", h, n, err)
		}
		if b < 0 || b >= n {
			return 0, fmt.Errorf("lab: Jump(%d, %d) = %d, outside [0, %d)", h, n, b, n)
		}
		return b, nil
	}
	var r JumpMoves
	for n := from; n <= to; n++ {
		mj, mm := 0, 0
		for _, h := range hs {
			a, err := call(h, n)
			if err != nil {
				return JumpMoves{}, err
			}
			b, err := call(h, n+1)
			if err != nil {
				return JumpMoves{}, err
			}
			if a != b {
				mj++
			}
			if h%uint64(n) != h%uint64(n+1) {
				mm++
			}
		}
		r.N = append(r.N, float64(n))
		r.Jump = append(r.Jump, float64(mj)/float64(len(hs)))
		r.Modulo = append(r.Modulo, float64(mm)/float64(len(hs)))
		r.Ideal = append(r.Ideal, 1/float64(n+1))
	}
	load := make([]float64, 10)
	for _, h := range hs {
		b, err := call(h, 10)
		if err != nil {
			return JumpMoves{}, err
		}
		load[b]++
	}
	st, err := skew.Of(load)
	if err != nil {
		return JumpMoves{}, err
	}
	r.Balance10 = st.MaxOverMean
	return r, nil
}

// RangeTouches counts the partitions a read of one customer touches from
// a fixed start, for each window (in hours), with hourly and with daily
// buckets, using the reference composite key.
func RangeTouches(windows []float64) (hourly, daily []float64, err error) {
	p, err := shard.NewN(shard.Spec{Scheme: shard.Jump}, 16)
	if err != nil {
		return nil, nil, err
	}
	from := RangeStart
	for _, h := range windows {
		if !(h >= 0) {
			return nil, nil, fmt.Errorf("lab: range touches: window %v hours is negative", h)
		}
		to := from.Add(time.Duration(h * float64(time.Hour)))
		a, err := solution.PartitionsBetween("acme", from, to, time.Hour, shard.ShardFunc(p))
		if err != nil {
			return nil, nil, err
		}
		b, err := solution.PartitionsBetween("acme", from, to, 24*time.Hour, shard.ShardFunc(p))
		if err != nil {
			return nil, nil, err
		}
		hourly, daily = append(hourly, float64(len(a))), append(daily, float64(len(b)))
	}
	return hourly, daily, nil
}

// RangeWindows are the notebook's read windows, in hours.
func RangeWindows() []float64 { return []float64{0.25, 1, 2, 6, 12, 24, 36, 48, 72, 96, 168} }

// RangeStart is where RangeTouches' reads start: 13:20 UTC, mid-bucket.
var RangeStart = time.Date(2025, 10, 26, 13, 20, 0, 0, time.UTC)

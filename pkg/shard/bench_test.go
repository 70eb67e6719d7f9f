package shard

import (
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/buraksezer/consistent"
	"github.com/cespare/xxhash/v2"

	"github.com/dsgym/dsgym/pkg/budget"
	"github.com/dsgym/dsgym/pkg/shard/skew"
	"github.com/dsgym/dsgym/pkg/shard/workload"
)

type member string

func (m member) String() string { return string(m) }

type xxHasher struct{}

func (xxHasher) Sum64(b []byte) uint64 { return xxhash.Sum64(b) }

// lookupKeys are realistic customer ids, hashed by each lookup (hash +
// locate is what a router pays per request).
func lookupKeys() []string {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = workload.ID(i * 7919 % 100_000)
	}
	return keys
}

// nsPerOp times f over rounds of 2^20 lookups and returns the best round's
// time per lookup, so that even a single benchmark iteration (bench.sh runs
// each once) measures a million lookups, and scheduler noise on a shared
// machine does not decide the figure.
func nsPerOp(b *testing.B, f func(key string) int) float64 {
	keys := lookupKeys()
	sink := 0
	best := math.Inf(1)
	for b.Loop() {
		for range 3 {
			start := time.Now()
			for i := range 1 << 20 {
				sink += f(keys[i&4095])
			}
			best = min(best, float64(time.Since(start).Nanoseconds())/(1<<20))
		}
	}
	if sink == -1 {
		b.Log(sink)
	}
	return best
}

// libraryNsAt100 is buraksezer/consistent's lookup time at 100 shards on
// the machine where the lookup budgets were set (notes/engines.md:
// 51 ns). The budgets below are enforced as ratios to the library measured
// in the same run, which is what carries over between machines; the
// absolute figures are printed beside the absolute budgets scaled by how
// fast this machine runs the library.
const libraryNsAt100 = 51.0

// BenchmarkLookup measures hash + lookup at 100 shards for jump, the ring
// (256 virtual nodes), rendezvous and modulo, and buraksezer/consistent in
// the same run; each figure is printed as a ratio to the library and beside
// its budget (jump 25 ns, ring 100 ns, on the reference machine).
//
// The library and the schemes are timed in interleaved rounds, and the
// budget is checked on the median of the per-round ratios: a burst of load
// from another process then slows both sides of a ratio, not one.
func BenchmarkLookup(b *testing.B) {
	const n, rounds = 100, 7
	var members []consistent.Member
	for i := range n {
		members = append(members, member(fmt.Sprintf("shard-%d", i)))
	}
	lib := consistent.New(members, consistent.Config{Hasher: xxHasher{}, PartitionCount: 7919, ReplicationFactor: 20, Load: 1.25})
	libLookup := func(k string) int { return len(lib.LocateKey([]byte(k)).String()) }
	type scheme struct {
		spec   Spec
		budget float64 // ns/lookup on the reference machine, 0 = none
		f      func(string) int
	}
	var schemes []scheme
	for _, c := range []struct {
		spec   Spec
		budget float64
	}{{Spec{Scheme: Jump}, 25}, {Spec{Scheme: Ring, VNodes: 256}, 100}, {Spec{Scheme: Rendezvous}, 0}, {Spec{Scheme: Modulo}, 0}} {
		p, err := NewN(c.spec, n)
		if err != nil {
			b.Fatal(err)
		}
		schemes = append(schemes, scheme{c.spec, c.budget, func(k string) int { return p.ShardOf(Hash(k)) }})
	}
	keys := lookupKeys()
	timeIt := func(f func(string) int) float64 {
		sink := 0
		start := time.Now()
		for i := range 1 << 18 {
			sink += f(keys[i&4095])
		}
		if sink == -1 {
			b.Log(sink)
		}
		return float64(time.Since(start).Nanoseconds()) / (1 << 18)
	}
	libNs := make([]float64, 0, rounds)
	ns := make([][]float64, len(schemes))
	ratios := make([][]float64, len(schemes))
	for b.Loop() {
		for range rounds {
			l := timeIt(libLookup)
			libNs = append(libNs, l)
			for i, sc := range schemes {
				v := timeIt(sc.f)
				ns[i] = append(ns[i], v)
				ratios[i] = append(ratios[i], v/l)
			}
		}
	}
	libMed := median(libNs)
	b.ReportMetric(libMed, "library-ns/lookup")
	b.Logf("buraksezer/consistent at %d shards: %.1f ns/lookup, median of %d rounds (%.2f x the %.0f ns of the machine the budgets were set on)", n, libMed, len(libNs), libMed/libraryNsAt100, libraryNsAt100)
	for i, sc := range schemes {
		nsMed, ratio := median(ns[i]), median(ratios[i])
		b.Logf("%v at %d shards: %.1f ns/lookup = %.2f x buraksezer/consistent (median ratio of %d rounds)", sc.spec, n, nsMed, ratio, len(ratios[i]))
		if sc.budget > 0 {
			b.Logf("%s %v: %.1f ns/lookup absolute (budget %.0f ns on the reference machine, %.0f ns scaled to this one)", b.Name(), sc.spec.Scheme, nsMed, sc.budget, sc.budget*libMed/libraryNsAt100)
			budget.AtMost(b, string(sc.spec.Scheme)+"-x-library", ratio, sc.budget/libraryNsAt100)
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// BenchmarkBalance reports max/mean over 100K customers with uniform rates
// at 10 shards (the figure is deterministic: the customers and hashes are
// fixed).
func BenchmarkBalance(b *testing.B) {
	hs := customerHashes(b, 100_000)
	for _, c := range []struct {
		spec   Spec
		budget float64
	}{{Spec{Scheme: Ring, VNodes: 256}, 1.10}, {Spec{Scheme: Jump}, 1.02}, {Spec{Scheme: Rendezvous}, 1.02}} {
		b.Run(string(c.spec.Scheme), func(b *testing.B) {
			var s skew.Stats
			for b.Loop() {
				p, _ := NewN(c.spec, 10)
				l, _ := Load(p, hs, nil)
				s, _ = skew.Of(l)
			}
			budget.AtMost(b, "max/mean", s.MaxOverMean, c.budget)
		})
	}
}

// BenchmarkMovement reports, going from 10 to 11 shards, each scheme's
// moved fraction over the ideal 1/11: consistent schemes must be within
// 10%; modulo is reported (about 10x the ideal), not hidden.
func BenchmarkMovement(b *testing.B) {
	hs := customerHashes(b, 100_000)
	for _, spec := range []Spec{{Scheme: Ring, VNodes: 256}, {Scheme: Jump}, {Scheme: Rendezvous}, {Scheme: Modulo}} {
		b.Run(string(spec.Scheme), func(b *testing.B) {
			var m Move
			for b.Loop() {
				p, _ := NewN(spec, 10)
				q, _ := Grow(p)
				m, _ = Moved(p, q, hs, nil)
			}
			b.ReportMetric(m.KeyFraction(), "moved")
			if spec.Scheme == Modulo {
				b.Logf("modulo moves %.1f%% of keys, %.1f x the ideal %.1f%%", 100*m.KeyFraction(), m.OverIdeal(), 100*m.Ideal)
				return
			}
			budget.AtLeast(b, "x-ideal", m.OverIdeal(), 0.90)
			budget.AtMost(b, "x-ideal", m.OverIdeal(), 1.10)
		})
	}
}

package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/hot"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	"github.com/dsgym/dsgym/pkg/sim"
)

var t0 = time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC)

func newStore(t *testing.T, salts *hot.SaltTable) *Store {
	p, err := shard.NewN(shard.Spec{Scheme: shard.Jump}, 8)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Partitioner: p, Bucket: time.Hour, Retention: 48 * time.Hour, Policies: map[string]time.Duration{"short": 2 * time.Hour}, Salts: salts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRangeReadsTouchExactlyTheirPartitions(t *testing.T) {
	s := newStore(t, nil)
	for i := range 600 { // one point a minute for 10 hours
		if _, err := s.Write("acme", tsdb.Point{At: t0.Add(time.Duration(i) * time.Minute), Value: float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		from, to   time.Duration
		points     int
		partitions int
	}{
		{"a read inside one hour touches one partition", 61 * time.Minute, 119 * time.Minute, 58, 1},
		{"a read of exactly two hours touches two", 2 * time.Hour, 4 * time.Hour, 120, 2},
		{"a read from 1:30 to 4:10 touches four", 90 * time.Minute, 250 * time.Minute, 160, 4},
		{"an empty read touches none", 3 * time.Hour, 3 * time.Hour, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts, st, err := s.Read("acme", t0.Add(tt.from), t0.Add(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != tt.points || len(st.Partitions) != tt.partitions {
				t.Errorf("read returned %d points from %d partitions, want %d from %d", len(pts), len(st.Partitions), tt.points, tt.partitions)
			}
			want, _ := shard.Locate(s.cfg.Partitioner, "acme")
			for _, p := range st.Partitions {
				if p.Shard != want {
					t.Errorf("read touched %v, not acme's shard %d", p, want)
				}
			}
		})
	}
	if _, _, err := s.Read("acme", t0.Add(time.Hour), t0); err == nil {
		t.Error("a read ending before it starts is not an error")
	}
}

func TestSaltedReadsStayCompleteAndOrderedAcrossFactorChanges(t *testing.T) {
	salts := hot.NewSaltTable()
	s := newStore(t, salts)
	rng := sim.NewRand(1, "store")
	var all []tsdb.Point
	at := t0
	// The customer heats up (1 -> 4 -> 16 salts) and cools down (-> 2 -> 1)
	// while it writes; some points arrive late.
	changes := map[int]int{200: 4, 500: 16, 900: 2, 1200: 1}
	for i := range 1500 {
		if k, ok := changes[i]; ok {
			if _, err := salts.Set("whale", at, k); err != nil {
				t.Fatal(err)
			}
		}
		at = at.Add(time.Duration(1+rng.IntN(20)) * time.Second)
		p := tsdb.Point{At: at, Value: float64(i)}
		if rng.IntN(10) == 0 {
			p.At = p.At.Add(-time.Duration(rng.IntN(60)) * time.Second) // late
		}
		if _, err := s.Write("whale", p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
	slices.SortStableFunc(all, func(a, b tsdb.Point) int { return a.At.Compare(b.At) })
	for _, r := range []struct{ from, to time.Time }{{t0, at.Add(time.Second)}, {all[300].At, all[1000].At}, {all[1300].At, at.Add(time.Hour)}} {
		got, st, err := s.Read("whale", r.from, r.to)
		if err != nil {
			t.Fatal(err)
		}
		var want []float64
		for _, p := range all {
			if !p.At.Before(r.from) && p.At.Before(r.to) {
				want = append(want, p.Value)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("read [%v, %v) over %d salts returned %d points, want %d", r.from, r.to, st.Salts, len(got), len(want))
		}
		seen := map[float64]bool{}
		for i, p := range got {
			if i > 0 && p.At.Before(got[i-1].At) {
				t.Fatalf("point %d is out of time order", i)
			}
			seen[p.Value] = true
		}
		for _, v := range want {
			if !seen[v] {
				t.Fatalf("point %v is missing from the read", v)
			}
		}
	}
	_, st, _ := s.Read("whale", t0, at.Add(time.Second))
	if st.Salts != 16 {
		t.Errorf("a read over the whole history fanned out over %d salts, want 16", st.Salts)
	}
}

func TestRetentionDropsWholeBucketsPerCustomerPolicy(t *testing.T) {
	s := newStore(t, nil)
	for h := range 72 {
		for _, c := range []string{"short", "default"} {
			if _, err := s.Write(c, tsdb.Point{At: t0.Add(time.Duration(h)*time.Hour + 30*time.Minute), Value: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := t0.Add(72 * time.Hour)
	st, err := s.Expire(now)
	if err != nil {
		t.Fatal(err)
	}
	// short keeps 2 hours: buckets ending at or before 70:00 go, 70 of them.
	// default keeps 48 hours: buckets ending at or before 24:00 go, 24.
	if st.Buckets != 94 || st.Points != 94 {
		t.Errorf("Expire dropped %d buckets and %d points, want 94 and 94", st.Buckets, st.Points)
	}
	for _, c := range []struct {
		who      string
		from, to time.Duration
		want     int
	}{{"short", 0, 72 * time.Hour, 2}, {"default", 0, 72 * time.Hour, 48}} {
		pts, _, _ := s.Read(c.who, t0.Add(c.from), t0.Add(c.to))
		if len(pts) != c.want {
			t.Errorf("%s has %d points left, want %d", c.who, len(pts), c.want)
		}
	}
	if _, err := s.Expire(time.Time{}); err == nil {
		t.Error("expiring at the zero time is not an error")
	}
}

func TestBadInputIsAnError(t *testing.T) {
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 2)
	for _, c := range []Config{
		{Bucket: time.Hour, Retention: time.Hour},
		{Partitioner: p, Bucket: 0, Retention: time.Hour},
		{Partitioner: p, Bucket: time.Hour, Retention: 0},
		{Partitioner: p, Bucket: time.Hour, Retention: time.Hour, Policies: map[string]time.Duration{"a": -1}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) is not an error", c)
		}
	}
	s := newStore(t, nil)
	if _, err := s.Write("", tsdb.Point{At: t0}); err == nil {
		t.Error("writing for an empty customer is not an error")
	}
	if _, err := s.Write("a", tsdb.Point{}); err == nil {
		t.Error("writing a point with no timestamp is not an error")
	}
	if _, _, err := s.Read("", t0, t0.Add(time.Hour)); err == nil {
		t.Error("reading an empty customer is not an error")
	}
}

func ExampleStore() {
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 16)
	s, _ := New(Config{Partitioner: p, Bucket: time.Hour, Retention: 90 * 24 * time.Hour})
	start := time.Date(2025, 10, 26, 13, 40, 0, 0, time.UTC)
	for i := range 6 {
		_, _ = s.Write("acme", tsdb.Point{At: start.Add(time.Duration(i) * 10 * time.Minute), Value: float64(i)})
	}
	pts, st, _ := s.Read("acme", start, start.Add(time.Hour))
	fmt.Println(len(pts), "points from", st.Partitions)
	// Output: 6 points from [s0000/2025-10-26T13:00Z s0000/2025-10-26T14:00Z]
}

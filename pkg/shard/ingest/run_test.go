package ingest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
	"github.com/dsgym/dsgym/pkg/shard/workload"
)

func smallWorkload(t *testing.T, zipf float64) *workload.Workload {
	c := workload.Default()
	c.Customers, c.Rate, c.Zipf = 1000, 1e6, zipf
	wl, err := workload.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

var start = time.Date(2025, 10, 26, 13, 59, 30, 0, time.UTC)

func TestEventsAreCountedPerShardAndPartition(t *testing.T) {
	wl := smallWorkload(t, 0.99)
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 8)
	r, err := Run(Config{Workload: wl, Partitioner: p, Start: start, Duration: time.Minute, Bucket: time.Hour, Stream: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 60e6 {
		t.Fatalf("a minute at 1M events/s gave %d events", r.Events)
	}
	var sum uint64
	for _, n := range r.PerShard {
		sum += n
	}
	if sum != r.Events {
		t.Errorf("per-shard counts sum to %d, want %d", sum, r.Events)
	}
	// 30 s in the 13:00 bucket, 30 s in the 14:00 bucket.
	byBucket := map[time.Time]uint64{}
	for part, n := range r.Partitions {
		byBucket[part.Bucket] += n
	}
	for _, b := range []time.Time{start.Truncate(time.Hour), start.Truncate(time.Hour).Add(time.Hour)} {
		if byBucket[b] != 30e6 {
			t.Errorf("bucket %v holds %d events, want 30M", b, byBucket[b])
		}
	}
	t.Run("each shard gets its customers' share", func(t *testing.T) {
		want := make([]float64, 8)
		for i, id := range wl.IDs() {
			s, _ := shard.Locate(p, id)
			rate, _ := wl.Rate(i)
			want[s] += rate * 60
		}
		for s := range want {
			if got := float64(r.PerShard[s]); math.Abs(got-want[s]) > 5*math.Sqrt(want[s]) {
				t.Errorf("shard %d got %v events, expected %v", s, got, want[s])
			}
		}
	})
}

func TestSaltingSpreadsACustomerOverItsSaltsShards(t *testing.T) {
	wl := smallWorkload(t, 0)
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 8)
	cfg := Config{Workload: wl, Partitioner: p, Start: start, Duration: time.Second, Bucket: time.Hour, Stream: "s"}
	plain, _ := Run(cfg)
	cfg.Salts = map[int]int{0: 8}
	salted, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	home, _ := shard.Locate(p, workload.ID(0))
	saltShards, _ := shard.SaltedShards(p, workload.ID(0), 8)
	// Same events (same stream): only customer 0's events move, from its
	// home shard to its salts' shards, one eighth per salt.
	delta := make([]float64, 8)
	sum := 0.0
	for s := range delta {
		delta[s] = float64(salted.PerShard[s]) - float64(plain.PerShard[s])
		sum += delta[s]
	}
	if sum != 0 {
		t.Fatalf("salting changed the total by %v", sum)
	}
	perShard := make([]float64, 8) // salts on each shard
	for _, s := range saltShards {
		perShard[s]++
	}
	gained := 0.0
	for s := range delta {
		if s != home {
			gained += delta[s]
		}
	}
	n := gained * 8 / (8 - perShard[home]) // customer 0's events
	if n < 900 || n > 1100 {
		t.Fatalf("customer 0 sent about %v events, expected about 1,000", n)
	}
	for s := range delta {
		want := n * perShard[s] / 8
		if s == home {
			want -= n
		}
		if math.Abs(delta[s]-want) > perShard[s]+1 {
			t.Errorf("shard %d changed by %v, want %v (salts on it: %v, home: %v)", s, delta[s], want, perShard[s], s == home)
		}
	}
}

func TestSameSeedSameCounts(t *testing.T) {
	wl := smallWorkload(t, 0.99)
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Ring}, 5)
	cfg := Config{Workload: wl, Partitioner: p, Start: start, Duration: time.Second, Bucket: time.Hour, Stream: "x"}
	a, _ := Run(cfg)
	b, _ := Run(cfg)
	if !slices.Equal(a.PerShard, b.PerShard) {
		t.Fatal("same config, different counts")
	}
	cfg.Stream = "y"
	c, _ := Run(cfg)
	if slices.Equal(a.PerShard, c.PerShard) {
		t.Fatal("different streams, same counts")
	}
}

func TestBadConfigsAreErrors(t *testing.T) {
	wl := smallWorkload(t, 0)
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 4)
	good := Config{Workload: wl, Partitioner: p, Start: start, Duration: time.Second, Bucket: time.Hour}
	for name, mut := range map[string]func(*Config){
		"no workload":             func(c *Config) { c.Workload = nil },
		"no partitioner":          func(c *Config) { c.Partitioner = nil },
		"zero duration":           func(c *Config) { c.Duration = 0 },
		"half-second buckets":     func(c *Config) { c.Bucket = 500 * time.Millisecond },
		"zero start":              func(c *Config) { c.Start = time.Time{} },
		"salt factor 0":           func(c *Config) { c.Salts = map[int]int{3: 0} },
		"salting a missing index": func(c *Config) { c.Salts = map[int]int{5000: 2} },
	} {
		t.Run(name+" is an error", func(t *testing.T) {
			c := good
			mut(&c)
			if _, err := Run(c); err == nil {
				t.Errorf("Run with %s returned no error", name)
			}
		})
	}
}

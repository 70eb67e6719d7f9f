package shard_test

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/shard"
)

func ExamplePlan() {
	p, _ := shard.Plan(shard.Demand{
		EventsPerSec: 10e6, PointBytes: 16, Retention: 90 * 24 * time.Hour, Replication: 3,
		ShardEventsPerSec: 1e6, ShardBytes: 4e12, Headroom: 0.7, Skew: 1.1, HottestPerSec: 780e3,
	})
	fmt.Printf("%d shards (%s-bound; ingest alone needs %d), %d replicas, the hottest customer needs %d salts\n",
		p.Shards, p.Binding, p.ByRate, p.Replicas, p.HotSalts)
	// Output: 489 shards (storage-bound; ingest alone needs 16), 1467 replicas, the hottest customer needs 2 salts
}

func ExampleSaltedShards() {
	p, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 16)
	home, _ := shard.Locate(p, "cust-092737")
	salts, _ := shard.SaltedShards(p, "cust-092737", 4)
	fmt.Println("unsalted:", home, "salted 4 ways:", salts)
	// Output: unsalted: 13 salted 4 ways: [13 12 10 7]
}

func ExampleRouter() {
	ten, _ := shard.NewN(shard.Spec{Scheme: shard.Jump}, 10)
	r, _ := shard.NewRouter(ten, 2) // 4 ranges
	eleven, _ := shard.Grow(ten)
	_ = r.Begin(eleven)
	h := shard.Hash("cust-000007") // a customer that moves to the new shard
	read, writes := r.Route(h)
	fmt.Println("during the copy: read", read, "write", writes)
	_ = r.Done(r.RangeOf(h))
	read, writes = r.Route(h)
	fmt.Println("after its range is done: read", read, "write", writes)
	// Output:
	// during the copy: read 7 write [7 10]
	// after its range is done: read 10 write [10]
}

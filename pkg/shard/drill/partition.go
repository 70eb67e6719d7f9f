package drill

import (
	"errors"
	"fmt"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/shard/tsdb"
	"github.com/dsgym/dsgym/solutions/shard"
)

// ShardOfFunc gives the shard of a customer (or of a salted routing key).
type ShardOfFunc = func(customer string) (int, error)

// PartitionFuncs are the two functions of the shard/partition exercise:
// in a notebook, drill.PartitionOf.Check(drill.PartitionFuncs{Of: PartitionOf, Between: PartitionsBetween}).
type PartitionFuncs struct {
	Of      func(customer string, at time.Time, width time.Duration, shardOf ShardOfFunc) (tsdb.Partition, error)
	Between func(customer string, from, to time.Time, width time.Duration, shardOf ShardOfFunc) ([]tsdb.Partition, error)
}

// fixedShard returns a shardOf that puts every customer on shard s and
// records whom it was asked about.
func fixedShard(s int, asked *[]string) ShardOfFunc {
	return func(c string) (int, error) {
		if asked != nil {
			*asked = append(*asked, c)
		}
		return s, nil
	}
}

// hashShard is a deterministic shardOf over 16 shards.
func hashShard(c string) (int, error) {
	h := uint32(2166136261)
	for i := 0; i < len(c); i++ {
		h = (h ^ uint32(c[i])) * 16777619
	}
	return int(h % 16), nil
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fmtT(t time.Time) string { return t.Format(time.RFC3339Nano) }

func fmtParts(ps []tsdb.Partition) string {
	out := "["
	for i, p := range ps {
		if i > 0 {
			out += " "
		}
		out += p.String()
	}
	return out + "]"
}

var errShardDown = errors.New("shard map unavailable")

// PartitionOf is the shard/partition exercise: the composite key
// (shard of the customer, time bucket) and the partitions a range read
// touches.
var PartitionOf = exercise.Register(&exercise.Exercise[PartitionFuncs]{
	ID:       "shard/partition",
	Title:    "The composite (shard, time bucket) key",
	Task:     "PartitionOf: the partition of a customer's point (shardOf(customer), start of its UTC time bucket); PartitionsBetween: the partitions a read of [from, to) touches, one per overlapping bucket",
	Func:     "PartitionOf, PartitionsBetween",
	Notebook: notebook,
	Hints: [3]string{
		"The key has two independent halves: the shard depends only on the customer (ask shardOf), the bucket only on the time. For the bucket, think of Unix time in seconds divided into slices of width seconds. For a range, which is the first bucket, which is the last one that still holds an instant before to?",
		"Bucket start = Unix seconds rounded DOWN to a multiple of width (for times before 1970, Go's % is negative: add width back), as a UTC time. [from, to) is half-open: the last instant it holds is to minus 1ns, so the last bucket is the bucket of to.Add(-time.Nanosecond). Validate first: empty customer, zero times, nil shardOf, width < 1s or not whole seconds, to before from.",
		"sec, w := at.Unix(), int64(width/time.Second); r := sec % w; if r < 0 { r += w }; bucket := time.Unix(sec-r, 0).UTC(). Between: first := bucket(from); last := bucket(to.Add(-time.Nanosecond)); for b := first; !b.After(last); b = b.Add(width) { append(tsdb.Partition{Shard: s, Bucket: b}) }; return nil, nil when to equals from.",
	},
	Reference: PartitionFuncs{Of: shard.PartitionOf, Between: shard.PartitionsBetween},
	Probe: func(f PartitionFuncs) {
		_, _ = f.Of("acme", utc("2025-10-26T13:04:05Z"), time.Hour, hashShard)
		_, _ = f.Between("acme", utc("2025-10-26T13:04:05Z"), utc("2025-10-26T15:00:00Z"), time.Hour, hashShard)
	},
	Checks: []exercise.Check[PartitionFuncs]{
		{Name: "the shard comes from shardOf(customer), the bucket from the time", Hint: 1, Run: func(t exercise.T, f PartitionFuncs) {
			var asked []string
			at := utc("2025-10-26T13:04:05.123Z")
			got, err := f.Of("acme", at, time.Hour, fixedShard(7, &asked))
			require.NoErrorf(t, err, "PartitionOf(acme, %s, 1h)", fmtT(at))
			require.Equalf(t, []string{"acme"}, asked, "PartitionOf(acme, ...) asked shardOf about")
			require.Equalf(t, 7, got.Shard, "PartitionOf(acme, %s, 1h) with shardOf = 7: shard", fmtT(at))
			require.Truef(t, got.Bucket.Equal(utc("2025-10-26T13:00:00Z")), "PartitionOf(acme, %s, 1h): bucket %s, want 2025-10-26T13:00:00Z", fmtT(at), fmtT(got.Bucket))
		}},
		{Name: "buckets are aligned on the Unix epoch in UTC, whatever the point's time zone", Hint: 2, Run: func(t exercise.T, f PartitionFuncs) {
			india := time.FixedZone("IST", 5*3600+1800)
			cases := []struct {
				at    time.Time
				width time.Duration
				want  string
			}{
				{utc("2025-10-26T13:59:59.999Z"), time.Hour, "2025-10-26T13:00:00Z"},
				{utc("2025-10-26T14:00:00Z"), time.Hour, "2025-10-26T14:00:00Z"},
				{time.Date(2025, 10, 27, 2, 0, 0, 0, india), 24 * time.Hour, "2025-10-26T00:00:00Z"}, // 20:30 UTC the day before
				{time.Date(2025, 10, 27, 5, 45, 0, 0, india), time.Hour, "2025-10-27T00:00:00Z"},
				{utc("2025-10-26T13:04:05Z"), 15 * time.Minute, "2025-10-26T13:00:00Z"},
				{utc("2025-10-26T13:04:05Z"), 7 * 24 * time.Hour, "2025-10-23T00:00:00Z"}, // weeks since 1970-01-01, a Thursday
			}
			for _, c := range cases {
				got, err := f.Of("acme", c.at, c.width, hashShard)
				require.NoErrorf(t, err, "PartitionOf(acme, %s, %v)", fmtT(c.at), c.width)
				require.Equalf(t, c.want, fmtT(got.Bucket), "PartitionOf(acme, %s, %v): bucket", fmtT(c.at), c.width)
			}
			// The same instant in two zones must give equal partitions: they
			// are map keys in the store.
			a, _ := f.Of("acme", time.Date(2025, 10, 27, 2, 0, 0, 0, india), time.Hour, hashShard)
			b, _ := f.Of("acme", utc("2025-10-26T20:30:00Z"), time.Hour, hashShard)
			require.Truef(t, a == b, "PartitionOf(acme, 02:00 IST) = %v and PartitionOf(acme, 20:30 UTC) = %v: the same instant must give == partitions (return the bucket in UTC)", a, b)
		}},
		{Name: "times before 1970 land in the bucket that holds them", Hint: 2, Run: func(t exercise.T, f PartitionFuncs) {
			for _, c := range []struct{ at, want string }{
				{"1969-12-31T23:30:00Z", "1969-12-31T23:00:00Z"},
				{"1969-12-31T23:59:59.5Z", "1969-12-31T23:00:00Z"},
				{"1969-07-20T20:17:40Z", "1969-07-20T20:00:00Z"},
			} {
				got, err := f.Of("nasa", utc(c.at), time.Hour, hashShard)
				require.NoErrorf(t, err, "PartitionOf(nasa, %s, 1h)", c.at)
				require.Equalf(t, c.want, fmtT(got.Bucket), "PartitionOf(nasa, %s, 1h): bucket (round down, not toward 1970)", c.at)
			}
		}},
		{Name: "bad input to PartitionOf is an error: empty customer, zero time, bad width, nil or failing shardOf", Hint: 1, Run: func(t exercise.T, f PartitionFuncs) {
			at := utc("2025-10-26T13:04:05Z")
			bad := []struct {
				what     string
				customer string
				at       time.Time
				width    time.Duration
				shardOf  ShardOfFunc
			}{
				{"an empty customer", "", at, time.Hour, hashShard},
				{"a zero time", "acme", time.Time{}, time.Hour, hashShard},
				{"a zero width", "acme", at, 0, hashShard},
				{"a negative width", "acme", at, -time.Hour, hashShard},
				{"a width of 1.5s", "acme", at, 1500 * time.Millisecond, hashShard},
				{"a nil shardOf", "acme", at, time.Hour, nil},
				{"a failing shardOf", "acme", at, time.Hour, func(string) (int, error) { return 0, errShardDown }},
				{"a negative shard", "acme", at, time.Hour, func(string) (int, error) { return -1, nil }},
			}
			for _, c := range bad {
				got, err := f.Of(c.customer, c.at, c.width, c.shardOf)
				require.Errorf(t, err, "PartitionOf with %s returned %v and no error", c.what, got)
			}
		}},
		{Name: "a read within one bucket touches one partition", Hint: 1, Run: func(t exercise.T, f PartitionFuncs) {
			from, to := utc("2025-10-26T13:05:00Z"), utc("2025-10-26T13:55:00Z")
			got, err := f.Between("acme", from, to, time.Hour, fixedShard(3, nil))
			require.NoErrorf(t, err, "PartitionsBetween(acme, %s, %s, 1h)", fmtT(from), fmtT(to))
			want := []tsdb.Partition{{Shard: 3, Bucket: utc("2025-10-26T13:00:00Z")}}
			require.Equalf(t, fmtParts(want), fmtParts(got), "PartitionsBetween(acme, %s, %s, 1h)", fmtT(from), fmtT(to))
		}},
		{Name: "a read ending exactly on a bucket boundary does not touch the next bucket", Hint: 2, Run: func(t exercise.T, f PartitionFuncs) {
			from, to := utc("2025-10-26T12:00:00Z"), utc("2025-10-26T14:00:00Z")
			got, err := f.Between("acme", from, to, time.Hour, fixedShard(3, nil))
			require.NoErrorf(t, err, "PartitionsBetween(acme, %s, %s, 1h)", fmtT(from), fmtT(to))
			want := []tsdb.Partition{{Shard: 3, Bucket: utc("2025-10-26T12:00:00Z")}, {Shard: 3, Bucket: utc("2025-10-26T13:00:00Z")}}
			require.Equalf(t, fmtParts(want), fmtParts(got), "PartitionsBetween(acme, %s, %s, 1h) ([from, to) is half-open)", fmtT(from), fmtT(to))
		}},
		{Name: "a three-day read starting mid-day touches four daily partitions, in time order", Hint: 2, Run: func(t exercise.T, f PartitionFuncs) {
			from, to := utc("2025-10-24T18:00:00Z"), utc("2025-10-27T06:00:00Z")
			got, err := f.Between("acme", from, to, 24*time.Hour, fixedShard(9, nil))
			require.NoErrorf(t, err, "PartitionsBetween(acme, %s, %s, 24h)", fmtT(from), fmtT(to))
			var want []tsdb.Partition
			for _, d := range []string{"2025-10-24", "2025-10-25", "2025-10-26", "2025-10-27"} {
				want = append(want, tsdb.Partition{Shard: 9, Bucket: utc(d + "T00:00:00Z")})
			}
			require.Equalf(t, fmtParts(want), fmtParts(got), "PartitionsBetween(acme, %s, %s, 24h)", fmtT(from), fmtT(to))
		}},
		{Name: "an empty range touches nothing, and a range ending before it starts is an error", Hint: 1, Run: func(t exercise.T, f PartitionFuncs) {
			at := utc("2025-10-26T13:00:00Z")
			got, err := f.Between("acme", at, at, time.Hour, hashShard)
			require.NoErrorf(t, err, "PartitionsBetween(acme, %s, %s, 1h) (an empty range)", fmtT(at), fmtT(at))
			require.Emptyf(t, got, "PartitionsBetween(acme, %s, %s, 1h) (an empty range)", fmtT(at), fmtT(at))
			got, err = f.Between("acme", at, at.Add(-time.Minute), time.Hour, hashShard)
			require.Errorf(t, err, "PartitionsBetween(acme, %s, %s, 1h) ends before it starts, but returned %s and no error", fmtT(at), fmtT(at.Add(-time.Minute)), fmtParts(got))
			for _, c := range []struct {
				what     string
				customer string
				width    time.Duration
				shardOf  ShardOfFunc
			}{{"an empty customer", "", time.Hour, hashShard}, {"a zero width", "acme", 0, hashShard}, {"a nil shardOf", "acme", time.Hour, nil}} {
				got, err = f.Between(c.customer, at, at.Add(time.Hour), c.width, c.shardOf)
				require.Errorf(t, err, "PartitionsBetween with %s returned %s and no error", c.what, fmtParts(got))
			}
		}},
		{Name: "PartitionsBetween lists exactly the partitions PartitionOf gives inside the range, on 300 random reads", Hint: 3, Run: func(t exercise.T, f PartitionFuncs) {
			r := rng("partition-ranges")
			base := utc("2025-01-01T00:00:00Z")
			for trial := range 300 {
				width := []time.Duration{time.Hour, 24 * time.Hour, 10 * time.Minute}[trial%3]
				from := base.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
				to := from.Add(time.Duration(r.Int64N(int64(40 * width))))
				if trial%7 == 0 { // end on a boundary
					to = to.Truncate(width)
					if to.Before(from) {
						to = from
					}
				}
				cust := fmt.Sprintf("cust-%06d", r.IntN(100_000))
				got, err := f.Between(cust, from, to, width, hashShard)
				require.NoErrorf(t, err, "PartitionsBetween(%s, %s, %s, %v)", cust, fmtT(from), fmtT(to), width)
				var want []tsdb.Partition
				for at := from; at.Before(to); at = at.Add(width) {
					p, _ := shard.PartitionOf(cust, at, width, hashShard)
					want = append(want, p)
				}
				if to.After(from) {
					last, _ := shard.PartitionOf(cust, to.Add(-time.Nanosecond), width, hashShard)
					if len(want) == 0 || want[len(want)-1] != last {
						want = append(want, last)
					}
				}
				require.Equalf(t, fmtParts(want), fmtParts(got), "PartitionsBetween(%s, %s, %s, %v)", cust, fmtT(from), fmtT(to), width)
			}
		}},
	},
})

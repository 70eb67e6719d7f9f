package ordering

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// With 2^31 partitions, Java's toPositive(murmur2(key)) % n is the
// positive hash itself, so franz-go's partitioner gives the hash away.
func TestFranzGoHashesKeysAsKafkaUtilsMurmur2(t *testing.T) {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("")
	for _, v := range JavaMurmur2 {
		t.Run(v.Key, func(t *testing.T) {
			got := p.Partition(&kgo.Record{Key: []byte(v.Key)}, 1<<31)
			require.Equal(t, int(uint32(v.Hash)&0x7fffffff), got)
			require.Equal(t, uint32(v.Hash)&0x7fffffff, PositiveHash([]byte(v.Key)))
		})
	}
}

func TestPartitionIsJavasPartitionForKey(t *testing.T) {
	for _, v := range JavaMurmur2 {
		for _, n := range []int{1, 3, 6, 12, 50, 64, 1000} {
			t.Run(fmt.Sprintf("%s over %d", v.Key, n), func(t *testing.T) {
				got, err := Partition([]byte(v.Key), n)
				require.NoError(t, err)
				require.Equal(t, int(uint32(v.Hash)&0x7fffffff)%n, got)
			})
		}
	}
	got, err := Partition([]byte("foobar"), 50)
	require.NoError(t, err)
	require.Equal(t, 16, got, "foobar over 50 partitions")
}

func TestClientsDisagreeOnMostKeys(t *testing.T) {
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = []byte(User(i))
	}
	for _, h := range []Hasher{CRC32, FNV1a} {
		same := 0
		for _, k := range keys {
			a, err := Partition(k, 12)
			require.NoError(t, err)
			b, err := PartitionWith(h, k, 12)
			require.NoError(t, err)
			if a == b {
				same++
			}
		}
		// Independent hashes agree on about 1/12 of the keys.
		share := float64(same) / float64(len(keys))
		t.Logf("%v agrees with murmur2 on %.1f%% of 10,000 keys over 12 partitions", h, 100*share)
		require.InDelta(t, 1.0/12, share, 0.02)
	}
}

func TestPartitionRefusesBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		key []byte
		n   int
	}{
		"zero partitions":     {[]byte("k"), 0},
		"negative partitions": {[]byte("k"), -3},
		"too many partitions": {[]byte("k"), MaxPartitions + 1},
		"a nil key":           {nil, 6},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Partition(c.key, c.n)
			require.Error(t, err)
		})
	}
	_, err := Partition(nil, 6)
	require.ErrorIs(t, err, ErrNoKey)
	p, err := Partition([]byte{}, 6)
	require.NoError(t, err, "an empty key is a key")
	require.Less(t, p, 6)
}

func TestMovedShareMatchesTheKeysThatMove(t *testing.T) {
	keys := make([][]byte, 20_000)
	for i := range keys {
		keys[i] = []byte(User(i))
	}
	for _, c := range []struct {
		from, to int
		want     float64
	}{{4, 8, 0.5}, {4, 5, 0.8}, {4, 6, 2.0 / 3}, {6, 12, 0.5}, {12, 13, 12.0 / 13}, {8, 4, 0.5}} {
		t.Run(fmt.Sprintf("%d to %d", c.from, c.to), func(t *testing.T) {
			require.InDelta(t, c.want, MovedShare(c.from, c.to), 1e-9)
			got, err := Moved(keys, c.from, c.to)
			require.NoError(t, err)
			require.InDelta(t, c.want, got, 0.015, "measured over 20,000 keys")
		})
	}
}

func TestWorkloadNumbersEachUsersEventsInOrder(t *testing.T) {
	for name, w := range map[string]Workload{
		"uniform":        {Users: 50, Events: 5000, Seed: 1},
		"zipf":           {Users: 50, Events: 5000, Dist: Zipf, S: 1.1, Seed: 1},
		"one hot at 30%": {Users: 50, Events: 5000, HotUsers: 1, HotShare: 0.3, Seed: 1},
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := w.Generate()
			require.NoError(t, err)
			next := map[string]int{}
			for _, e := range evs {
				require.Equal(t, next[e.Key], e.Seq, "seq of %s", e.Key)
				next[e.Key]++
			}
			again, err := w.Generate()
			require.NoError(t, err)
			require.Equal(t, evs, again, "the same seed gives the same events")
			if w.HotUsers == 1 {
				require.InDelta(t, 0.3, float64(next[User(0)])/float64(len(evs)), 0.03)
			}
			if w.Dist == Zipf {
				require.Greater(t, next[User(0)], 5*next[User(20)])
			}
		})
	}
}

func TestWorkloadRefusesBadInput(t *testing.T) {
	for name, w := range map[string]Workload{
		"no users":            {Events: 10},
		"negative events":     {Users: 3, Events: -1},
		"more hot than users": {Users: 3, HotUsers: 4, HotShare: 0.5},
		"share above 1":       {Users: 3, HotUsers: 1, HotShare: 1.5},
		"share without hot":   {Users: 3, HotShare: 0.5},
		"zipf without s":      {Users: 3, Dist: Zipf},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.Generate()
			require.Error(t, err)
		})
	}
}

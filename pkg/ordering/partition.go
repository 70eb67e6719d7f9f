package ordering

import (
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Hasher names a client's key-to-partition rule.
type Hasher int

const (
	// Murmur2 is the Java client's rule (BuiltInPartitioner.partitionForKey:
	// toPositive(murmur2(key)) % partitions), which franz-go's default and
	// StickyKeyPartitioner(nil) use too.
	Murmur2 Hasher = iota
	// CRC32 is librdkafka's default (partitioner=consistent_random: CRC32
	// of the key), so confluent-kafka-go, -python and -dotnet out of the
	// box (twmb/franz-go#680 is the mismatch it causes).
	CRC32
	// FNV1a is Sarama's default hash partitioner (FNV-1a 32, the sign bit
	// folded as Sarama does: kgo.SaramaCompatHasher).
	FNV1a
)

func (h Hasher) String() string {
	switch h {
	case CRC32:
		return "CRC32 (librdkafka's default)"
	case FNV1a:
		return "FNV-1a (Sarama's default)"
	}
	return "murmur2 (Java client, franz-go)"
}

// partitioners are franz-go's own partitioners for each rule: nothing here
// re-implements a hash. A keyed record's partition depends on its key
// alone, so one TopicPartitioner per rule serves every call.
var partitioners = map[Hasher]kgo.TopicPartitioner{}

func init() {
	for h, p := range rules {
		partitioners[h] = p.ForTopic("")
	}
}

var rules = map[Hasher]kgo.Partitioner{
	Murmur2: kgo.StickyKeyPartitioner(nil),
	CRC32:   kgo.StickyKeyPartitioner(kgo.SaramaHasher(crc32.ChecksumIEEE)),
	FNV1a: kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(func(b []byte) uint32 {
		h := fnv.New32a()
		h.Write(b)
		return h.Sum32()
	})),
}

// ErrNoKey is what Partition says of a nil key.
var ErrNoKey = errors.New("a record without a key has no partition of its own: the Java client (KIP-480, KIP-794) and franz-go stick keyless records to one partition until a batch fills, then move on, so keyless records have no order with each other across batches")

// MaxPartitions bounds the partition counts Partition accepts (Kafka
// itself allows far more per topic, but no experiment here needs them).
const MaxPartitions = 1 << 20

// Partition returns the partition the Java client would choose for key
// among partitions, through franz-go's Kafka-compatible partitioner. A
// key is a key even when empty: only nil has no partition.
func Partition(key []byte, partitions int) (int, error) {
	return PartitionWith(Murmur2, key, partitions)
}

// PartitionWith is Partition under another client's rule.
func PartitionWith(h Hasher, key []byte, partitions int) (int, error) {
	switch {
	case partitions < 1:
		return 0, fmt.Errorf("a topic has at least one partition, not %d", partitions)
	case partitions > MaxPartitions:
		return 0, fmt.Errorf("%d partitions is more than this package handles (%d)", partitions, MaxPartitions)
	case key == nil:
		return 0, ErrNoKey
	}
	p, ok := partitioners[h]
	if !ok {
		return 0, fmt.Errorf("unknown hasher %d", h)
	}
	return p.Partition(&kgo.Record{Key: key}, partitions), nil
}

// Moved returns the share of keys whose partition changes when a topic
// grows (or shrinks) from one partition count to another, under the Java
// client's rule.
func Moved(keys [][]byte, from, to int) (float64, error) {
	if len(keys) == 0 {
		return 0, errors.New("no keys")
	}
	moved := 0
	for _, k := range keys {
		a, err := Partition(k, from)
		if err != nil {
			return 0, err
		}
		b, err := Partition(k, to)
		if err != nil {
			return 0, err
		}
		if a != b {
			moved++
		}
	}
	return float64(moved) / float64(len(keys)), nil
}

// MovedShare is the share of keys that change partition from one count to
// another under hash mod n, for a uniform hash. A key keeps its partition
// when h mod from == h mod to; by the Chinese remainder theorem that holds
// for exactly min(from, to) of every lcm(from, to) consecutive hash values,
// so the share that moves is 1 - min/lcm: 1/2 from 4 to 8, 4/5 from 4 to
// 5, 2/3 from 4 to 6. Consistent hashing (chapter 04) moves about
// 1 - from/to when growing, the least any rule can.
func MovedShare(from, to int) float64 {
	if from < 1 || to < 1 {
		return 0
	}
	lcm := from / gcd(from, to) * to
	return 1 - float64(min(from, to))/float64(lcm)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Vector is one of Kafka's published murmur2 test vectors.
type Vector struct {
	Key  string
	Hash int32 // Utils.murmur2(key.getBytes()), a signed Java int
}

// JavaMurmur2 are the vectors of Kafka's own test of its hash
// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
// testMurmur2).
var JavaMurmur2 = []Vector{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
}

// PositiveHash is Java's Utils.toPositive(Utils.murmur2(key)), read from
// franz-go's partitioner: with 2^31 partitions, hash mod n is the hash.
func PositiveHash(key []byte) uint32 {
	return uint32(partitioners[Murmur2].Partition(&kgo.Record{Key: key}, 1<<31))
}

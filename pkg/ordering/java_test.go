package ordering

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/engines/local"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Java client puts every key on the partition Partition computes: a
// cross-check against the real thing, not a copy of its code. Kafka's own
// console producer (org.apache.kafka.tools.ConsoleProducer, the Java
// client with its default partitioner) writes keyed records to a real
// broker; franz-go reads them back with the partition each landed on.
func TestAJavaProducerPutsEveryKeyOnThePartitionOursComputes(t *testing.T) {
	enginetest.Need(t, engines.KafkaBrokersEnv)
	cfg, err := local.FromEnv()
	require.NoError(t, err)
	in, err := cfg.LoadInstalled()
	require.NoError(t, err, "the real engines are not installed (make engines)")
	java, libs := in["JAVA"], in["KAFKA_LIBS"]
	require.NotEmpty(t, java, "no Java in .dsgym/engines.env (make engines)")
	require.NotEmpty(t, libs, "no Kafka jars in .dsgym/engines.env (make engines)")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k, err := engines.Kafka(ctx)
	require.NoError(t, err)
	t.Cleanup(k.Close)
	const partitions = 12
	topic := fmt.Sprintf("ordering-java-%d", time.Now().UnixNano())
	require.NoError(t, k.CreateTopic(ctx, topic, partitions, -1))
	defer deleteTopic(k, topic)

	// Keys of every shape a producer meets: short, long, numeric, with
	// spaces and punctuation, multi-byte UTF-8.
	var keys []string
	for i := range 300 {
		keys = append(keys, User(i))
	}
	keys = append(keys, "a", "42", "order 17/eu-west", "ключ", "キー", "emoji-🙂", strings.Repeat("x", 300))
	var stdin bytes.Buffer
	for i, key := range keys {
		fmt.Fprintf(&stdin, "%s\t%d\n", key, i)
	}
	cmd := exec.CommandContext(ctx, java, "-Xmx256m", "-cp", filepath.Join(libs, "*"),
		"-Dlog4j2.configurationFile="+in["KAFKA_LOG4J"],
		"org.apache.kafka.tools.ConsoleProducer",
		"--bootstrap-server", k.Brokers[0], "--topic", topic,
		"--property", "parse.key=true", "--property", "key.separator=\t")
	cmd.Stdin = &stdin
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the Java console producer: %s", out)

	cl, err := k.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	seen := 0
	for seen < len(keys) {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d records back", seen, len(keys))
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			want, err := Partition(r.Key, partitions)
			require.NoError(t, err)
			require.EqualValues(t, want, r.Partition, "key %q: Java chose partition %d, Partition says %d", r.Key, r.Partition, want)
		})
	}
	t.Logf("%d keys: the Java producer and Partition agree on every partition (of %d)", seen, partitions)
}

package engines

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines/local"
)

// KafkaEngine is the Kafka a chapter talks to: kfake in this process, or a
// real broker or cluster. The same franz-go code runs on both: give
// Brokers to kgo.SeedBrokers.
type KafkaEngine struct {
	// Name is what the chapter's first cell shows: "kfake, in process
	// (1 broker)" or "Kafka 4.4 at 127.0.0.1:9092 (1 broker)".
	Name    string
	Brokers []string
	Real    bool
	// Fake is the in-process cluster, for its fault hooks (nil when Real).
	Fake *kfake.Cluster
}

type kafkaOptions struct {
	fakeBrokers int
	fakeOpts    []kfake.Opt
	forceFake   bool
	seeds       []string
}

// KafkaOption configures Kafka.
type KafkaOption func(*kafkaOptions)

// FakeBrokers sets how many brokers kfake runs (default 1). It does not
// change a real cluster.
func FakeBrokers(n int) KafkaOption { return func(o *kafkaOptions) { o.fakeBrokers = n } }

// FakeOptions passes options to kfake (for example kfake.SeedTopics).
func FakeOptions(opts ...kfake.Opt) KafkaOption {
	return func(o *kafkaOptions) { o.fakeOpts = append(o.fakeOpts, opts...) }
}

// Embedded forces kfake even when DSGYM_KAFKA_BROKERS is set, for the side
// of a side-by-side comparison that runs in process.
func Embedded() KafkaOption { return func(o *kafkaOptions) { o.forceFake = true } }

// Brokers connects to the real Kafka at these seed brokers instead of the
// one DSGYM_KAFKA_BROKERS names (for example a test's private broker from
// enginetest.PrivateKafka).
func Brokers(seeds ...string) KafkaOption { return func(o *kafkaOptions) { o.seeds = seeds } }

// Kafka returns the real Kafka named by DSGYM_KAFKA_BROKERS, checked to
// answer within ReachTimeout, or else a fresh kfake cluster. Close it when
// done.
func Kafka(ctx context.Context, opts ...KafkaOption) (*KafkaEngine, error) {
	o := kafkaOptions{fakeBrokers: 1}
	for _, f := range opts {
		f(&o)
	}
	if len(o.seeds) > 0 && !o.forceFake {
		return realKafka(ctx, o.seeds)
	}
	if seeds := splitList(os.Getenv(KafkaBrokersEnv)); len(seeds) > 0 && !o.forceFake {
		return realKafka(ctx, seeds)
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(o.fakeBrokers)}, o.fakeOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kfake did not start: %w", err)
	}
	return &KafkaEngine{
		Name:    fmt.Sprintf("kfake, in process (%d %s)", o.fakeBrokers, plural(o.fakeBrokers, "broker")),
		Brokers: c.ListenAddrs(),
		Fake:    c,
	}, nil
}

func realKafka(ctx context.Context, seeds []string) (*KafkaEngine, error) {
	unreachable := func(addr string, err error) error {
		target := "kafka"
		if len(seeds) > 1 {
			target = "kafka-cluster"
		}
		return &NotReachableError{Engine: "Kafka", Addr: addr, Var: KafkaBrokersEnv, Target: target, Err: err}
	}
	// One deadline for the dial and the first request: a port that accepts
	// but never answers (a paused broker) also fails within ReachTimeout.
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	if addr, err := dialAll(ctx, seeds); err != nil {
		return nil, unreachable(addr, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		return nil, unreachable(strings.Join(seeds, ","), err)
	}
	version := "Kafka"
	if vs, err := adm.ApiVersions(ctx); err == nil {
		for _, v := range vs.Sorted() {
			if v.Err == nil {
				version = "Kafka " + strings.TrimPrefix(strings.TrimPrefix(v.VersionGuess(), "v"), "at least v")
				break
			}
		}
	}
	return &KafkaEngine{
		Name:    fmt.Sprintf("%s at %s (%d %s)", version, strings.Join(seeds, ","), len(brokers), plural(len(brokers), "broker")),
		Brokers: seeds,
		Real:    true,
	}, nil
}

// String returns Name.
func (k *KafkaEngine) String() string { return k.Name }

// Client returns a franz-go client on this engine with opts added.
func (k *KafkaEngine) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...)}, opts...)...)
}

// CreateTopic creates topic with the given partitions and replication
// factor (-1: the broker's default). A topic that exists is an error, so
// that an experiment never reads an earlier run's records: name topics per
// run.
func (k *KafkaEngine) CreateTopic(ctx context.Context, topic string, partitions int32, rf int16) error {
	cl, err := k.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating topic %s on %s: %w", topic, k.Name, err)
	}
	return nil
}

// Close stops kfake; it leaves a real cluster alone.
func (k *KafkaEngine) Close() {
	if k.Fake != nil {
		k.Fake.Close()
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Local returns the brokers behind a real engine when this checkout started
// them (make kafka or make kafka-cluster), for the fault experiments: kill
// -9 and restart a broker, kill a partition's leader, pause and resume. It
// returns false for kfake (use Fake's hooks) and for a cluster started
// elsewhere, which dsgym will not kill.
func (k *KafkaEngine) Local() (*local.Kafka, bool) {
	if !k.Real {
		return nil, false
	}
	cfg, err := local.FromEnv()
	if err != nil {
		return nil, false
	}
	for _, nodes := range []int{1, 3} {
		lk := local.NewKafka(cfg, nodes)
		if lk.Brokers() == strings.Join(k.Brokers, ",") && len(lk.Running()) > 0 {
			return lk, true
		}
	}
	return nil, false
}

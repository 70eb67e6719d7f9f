package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dsgym/dsgym/pkg/engines/proc"
)

// Kafka is a KRaft Kafka of one or three nodes, each both broker and
// controller (combined mode), with a static controller quorum.
//
// With three nodes every topic defaults to replication factor 3 and
// min.insync.replicas 2, so that acks=all survives the loss of one broker;
// with one node both are 1.
type Kafka struct {
	cfg   Config
	Nodes int
	// Heap is the JVM heap of each broker (-Xmx); the default 512m keeps a
	// three-broker cluster and Spark under 4 GiB together.
	Heap string
}

// NewKafka returns the single broker (nodes 1, run directory kafka) or the
// cluster (nodes 3, run directory kafka-cluster).
func NewKafka(cfg Config, nodes int) *Kafka { return &Kafka{cfg: cfg, Nodes: nodes, Heap: "512m"} }

// Name is the engine's name in make targets and messages.
func (k *Kafka) Name() string {
	if k.Nodes == 1 {
		return "kafka"
	}
	return "kafka-cluster"
}

// Dir is the engine's run directory.
func (k *Kafka) Dir() string { return filepath.Join(k.cfg.RunDir, k.Name()) }

// NodeDir is broker id's run directory (ids start at 1).
func (k *Kafka) NodeDir(id int) string {
	if k.Nodes == 1 {
		return k.Dir()
	}
	return filepath.Join(k.Dir(), fmt.Sprintf("broker-%d", id))
}

// BrokerAddr is broker id's client address.
func (k *Kafka) BrokerAddr(id int) string {
	return fmt.Sprintf("127.0.0.1:%d", k.cfg.KafkaPort+id-1)
}

func (k *Kafka) controllerAddr(id int) string {
	return fmt.Sprintf("127.0.0.1:%d", k.cfg.KafkaPort+100+id-1)
}

// Brokers is the comma-separated broker list for DSGYM_KAFKA_BROKERS.
func (k *Kafka) Brokers() string {
	var b []string
	for id := 1; id <= k.Nodes; id++ {
		b = append(b, k.BrokerAddr(id))
	}
	return strings.Join(b, ",")
}

// properties is broker id's server.properties.
func (k *Kafka) properties(id int) string {
	var voters []string
	for i := 1; i <= k.Nodes; i++ {
		voters = append(voters, fmt.Sprintf("%d@%s", i, k.controllerAddr(i)))
	}
	rf, isr := k.Nodes, min(2, k.Nodes)
	lines := []string{
		"# Written by dsgym (pkg/engines/local); rewritten on every start.",
		"process.roles=broker,controller",
		fmt.Sprintf("node.id=%d", id),
		"controller.quorum.voters=" + strings.Join(voters, ","),
		fmt.Sprintf("listeners=PLAINTEXT://%s,CONTROLLER://%s", k.BrokerAddr(id), k.controllerAddr(id)),
		"advertised.listeners=PLAINTEXT://" + k.BrokerAddr(id),
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"log.dirs=" + filepath.Join(k.NodeDir(id), "data"),
		fmt.Sprintf("default.replication.factor=%d", rf),
		fmt.Sprintf("min.insync.replicas=%d", isr),
		fmt.Sprintf("offsets.topic.replication.factor=%d", rf),
		fmt.Sprintf("transaction.state.log.replication.factor=%d", rf),
		fmt.Sprintf("transaction.state.log.min.isr=%d", isr),
		// Fewer internal partitions than the defaults (50 each) so that a
		// laptop creates them in a second; the protocol is the same.
		"offsets.topic.num.partitions=10",
		"transaction.state.log.num.partitions=10",
		// Consumers join at once instead of after 3 s (a test setting).
		"group.initial.rebalance.delay.ms=0",
		"auto.create.topics.enable=false",
		"num.network.threads=2",
		"num.io.threads=4",
	}
	return strings.Join(lines, "\n") + "\n"
}

// spec is broker id's process.
func (k *Kafka) spec(in Installed, id int) (proc.Spec, error) {
	java, err := in.need("JAVA", "kafka")
	if err != nil {
		return proc.Spec{}, err
	}
	libs, err := in.need("KAFKA_LIBS", "kafka")
	if err != nil {
		return proc.Spec{}, err
	}
	dir := k.NodeDir(id)
	props := filepath.Join(dir, "server.properties")
	argv := []string{java, "-Xms128m", "-Xmx" + k.Heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-Djava.awt.headless=true", "-Dkafka.logs.dir=" + filepath.Join(dir, "logs")}
	if l := in["KAFKA_LOG4J"]; l != "" {
		argv = append(argv, "-Dlog4j2.configurationFile="+l)
	}
	argv = append(argv, "-cp", filepath.Join(libs, "*"), "kafka.Kafka", props)
	addr := k.BrokerAddr(id)
	return proc.Spec{
		Name: fmt.Sprintf("Kafka broker %d (%s)", id, addr),
		Dir:  dir,
		Argv: argv,
		Ports: []proc.Port{{Addr: addr, Var: KafkaPortEnv},
			{Addr: k.controllerAddr(id), Var: KafkaPortEnv}},
		ReadyTimeout: 60 * time.Second,
		Ready:        func(ctx context.Context) error { return brokerAnswers(ctx, addr) },
	}, nil
}

// format prepares broker id's log directory once (kafka-storage format);
// later starts keep the data.
func (k *Kafka) format(in Installed, id int, clusterID string) error {
	dir := k.NodeDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	props := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(props, []byte(k.properties(id)), 0o644); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "meta.properties")); err == nil {
		return nil
	}
	args := []string{}
	if l := in["KAFKA_LOG4J"]; l != "" {
		args = append(args, "-Dlog4j2.configurationFile="+l)
	}
	args = append(args, "-Dkafka.logs.dir="+filepath.Join(dir, "logs"), "-cp", filepath.Join(in["KAFKA_LIBS"], "*"),
		"kafka.tools.StorageTool", "format", "-t", clusterID, "-c", props, "--ignore-formatted")
	out, err := exec.Command(in["JAVA"], args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("formatting %s failed: %v\n%s", dir, err, out)
	}
	return nil
}

// clusterID returns the cluster's id, made once and kept in its directory.
func (k *Kafka) clusterID() (string, error) {
	p := filepath.Join(k.Dir(), "cluster-id")
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		id := base64.RawURLEncoding.EncodeToString(b[:])
		if strings.HasPrefix(id, "-") { // Kafka's own generator avoids these
			continue
		}
		if err := os.MkdirAll(k.Dir(), 0o755); err != nil {
			return "", err
		}
		return id, os.WriteFile(p, []byte(id+"\n"), 0o644)
	}
}

// Start formats what was never formatted and starts every broker that is
// not running, in parallel, then waits until the cluster reports all its
// brokers. It returns how long that took.
func (k *Kafka) Start(ctx context.Context) (time.Duration, error) {
	in, err := k.cfg.LoadInstalled()
	if err != nil {
		return 0, err
	}
	if _, err := in.need("KAFKA_LIBS", "kafka"); err != nil {
		return 0, err
	}
	if err := k.checkOtherStopped(); err != nil {
		return 0, err
	}
	t0 := time.Now() // formatting counts: a first start includes it
	cid, err := k.clusterID()
	if err != nil {
		return 0, err
	}
	var specs []proc.Spec
	for id := 1; id <= k.Nodes; id++ {
		if err := k.format(in, id, cid); err != nil {
			return 0, err
		}
		s, err := k.spec(in, id)
		if err != nil {
			return 0, err
		}
		specs = append(specs, s)
	}
	// A controller quorum of three needs two up before anyone is ready:
	// start them together and wait for each.
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = proc.Start(ctx, s)
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return 0, e
		}
	}
	if err := k.waitBrokers(ctx, k.Nodes, 60*time.Second); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// checkOtherStopped refuses to start the single broker while the cluster
// runs, and the other way round: they share ports.
func (k *Kafka) checkOtherStopped() error {
	other := NewKafka(k.cfg, 4-k.Nodes)
	if other.Nodes != 1 && other.Nodes != 3 {
		return nil
	}
	for id := 1; id <= other.Nodes; id++ {
		if _, ok := proc.Running(other.NodeDir(id)); ok {
			return fmt.Errorf("%s is running and uses the same ports: stop it first (make engines-stop)", other.Name())
		}
	}
	return nil
}

// waitBrokers waits until the metadata lists n live brokers.
func (k *Kafka) waitBrokers(ctx context.Context, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.Brokers(), ",")...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last error
	for {
		bs, err := adm.ListBrokers(ctx)
		if err == nil && len(bs) >= n {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%d of %d brokers registered", len(bs), n)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come up within %s: %v%s", k.Name(), timeout, last, tailOf(k.NodeDir(1)))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops every broker (controlled shutdown, SIGKILL after 20 s).
func (k *Kafka) Stop() error {
	var wg sync.WaitGroup
	errs := make([]error, k.Nodes)
	for id := 1; id <= k.Nodes; id++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[id-1] = proc.Stop(k.NodeDir(id), 20*time.Second) }()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Running lists the ids of the brokers whose process is alive.
func (k *Kafka) Running() []int {
	var ids []int
	for id := 1; id <= k.Nodes; id++ {
		if _, ok := proc.Running(k.NodeDir(id)); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Kill9 kills broker id as a crash would (SIGKILL).
func (k *Kafka) Kill9(id int) error { return proc.Kill9(k.NodeDir(id)) }

// Pause freezes broker id (SIGSTOP); Resume continues it.
func (k *Kafka) Pause(id int) error { return proc.Pause(k.NodeDir(id)) }

// Resume continues a paused broker (SIGCONT).
func (k *Kafka) Resume(id int) error { return proc.Resume(k.NodeDir(id)) }

// Restart starts broker id again after a kill, with its log directory as
// the crash left it, and waits until it answers.
func (k *Kafka) Restart(ctx context.Context, id int) (time.Duration, error) {
	in, err := k.cfg.LoadInstalled()
	if err != nil {
		return 0, err
	}
	s, err := k.spec(in, id)
	if err != nil {
		return 0, err
	}
	st, err := proc.Start(ctx, s)
	return st.Elapsed, err
}

// LeaderOf returns the broker id that leads partition p of topic.
func (k *Kafka) LeaderOf(ctx context.Context, topic string, p int32) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.Brokers(), ",")...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		return 0, err
	}
	t, ok := md.Topics[topic]
	if !ok || t.Err != nil {
		return 0, fmt.Errorf("topic %s: %v", topic, t.Err)
	}
	part, ok := t.Partitions[p]
	if !ok {
		return 0, fmt.Errorf("topic %s has no partition %d", topic, p)
	}
	return int(part.Leader), nil
}

// KillLeader kills with SIGKILL the broker leading partition p of topic and
// returns its id.
func (k *Kafka) KillLeader(ctx context.Context, topic string, p int32) (int, error) {
	id, err := k.LeaderOf(ctx, topic, p)
	if err != nil {
		return 0, err
	}
	return id, k.Kill9(id)
}

// PIDs returns the process id of every running broker.
func (k *Kafka) PIDs() []int {
	var pids []int
	for id := 1; id <= k.Nodes; id++ {
		if pid, ok := proc.Running(k.NodeDir(id)); ok {
			pids = append(pids, pid)
		}
	}
	return pids
}

// brokerAnswers is a broker's readiness: it answers an ApiVersions request.
func brokerAnswers(ctx context.Context, addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTimeout(time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	vs, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Err != nil {
			return v.Err
		}
	}
	return nil
}

func tailOf(dir string) string {
	t := proc.LogTail(dir, 15)
	if t == "" {
		return ""
	}
	return "; last lines of " + filepath.Join(dir, "log") + ":\n" + t
}

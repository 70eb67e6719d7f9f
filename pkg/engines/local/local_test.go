package local

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKafkaPropertiesFollowTheClusterSize(t *testing.T) {
	cases := []struct {
		nodes             int
		rf, isr           string
		voters, listeners string
	}{
		{1, "default.replication.factor=1", "min.insync.replicas=1", "controller.quorum.voters=1@127.0.0.1:9192", "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192"},
		{3, "default.replication.factor=3", "min.insync.replicas=2", "controller.quorum.voters=1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194", "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9192"},
	}
	for _, c := range cases {
		k := NewKafka(Config{RunDir: t.TempDir(), KafkaPort: 9092}, c.nodes)
		p := k.properties(1)
		for _, want := range []string{c.rf, c.isr, c.voters, c.listeners, "transaction.state.log.min.isr=" + c.isr[len(c.isr)-1:]} {
			assert.Contains(t, strings.Split(p, "\n"), want, "%d node(s)", c.nodes)
		}
		assert.NotContains(t, p, "0.0.0.0", "everything binds loopback")
	}
}

func TestBadPortVariablesAreRejectedWithTheirName(t *testing.T) {
	for _, v := range []string{"abc", "80", "70000"} {
		t.Setenv(KafkaPortEnv, v)
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), KafkaPortEnv)
	}
}

func TestMissingInstallSaysWhatToRun(t *testing.T) {
	_, err := Installed{}.need("KAFKA_LIBS", "kafka")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "install.sh kafka")
}

func TestLookupNamesTheChoices(t *testing.T) {
	_, err := Lookup(Config{}, "zookeeper")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kafka, kafka-cluster, spark or postgres")
}

package engines

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/engines/enginetest"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentAddr returns an address that accepts connections and never answers,
// like a paused (SIGSTOP) broker.
func silentAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestAConfiguredEngineThatIsNotThereFailsFastWithOneSentence(t *testing.T) {
	cases := []struct {
		name, env, value, target string
		open                     func(context.Context) error
	}{
		{"kafka, nothing listening", KafkaBrokersEnv, closedAddr(t), "make kafka",
			func(ctx context.Context) error { _, err := Kafka(ctx); return err }},
		{"kafka, a port that never answers", KafkaBrokersEnv, silentAddr(t), "make kafka",
			func(ctx context.Context) error { _, err := Kafka(ctx); return err }},
		{"kafka cluster list", KafkaBrokersEnv, closedAddr(t) + "," + closedAddr(t), "make kafka-cluster",
			func(ctx context.Context) error { _, err := Kafka(ctx); return err }},
		{"spark", SparkRemoteEnv, "sc://" + closedAddr(t), "make spark",
			func(ctx context.Context) error { _, err := Spark(ctx); return err }},
		{"postgres", PostgresURLEnv, "postgres://dsgym@" + closedAddr(t) + "/postgres?sslmode=disable", "make postgres",
			func(ctx context.Context) error { _, err := Postgres(ctx); return err }},
		{"postgres, a port that never answers", PostgresURLEnv, "postgres://dsgym@" + silentAddr(t) + "/postgres?sslmode=disable", "make postgres",
			func(ctx context.Context) error { _, err := Postgres(ctx); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			t0 := time.Now()
			err := c.open(context.Background())
			took := time.Since(t0)
			require.Error(t, err)
			var nr *NotReachableError
			assert.True(t, errors.As(err, &nr), "want a NotReachableError, got %T: %v", err, err)
			assert.Contains(t, err.Error(), c.env)
			assert.Contains(t, err.Error(), c.target)
			assert.Less(t, took, ReachTimeout+time.Second, "the cell must not hang")
		})
	}
}

func TestUnsetVariablesGiveTheEmbeddedEngines(t *testing.T) {
	for _, env := range []string{KafkaBrokersEnv, SparkRemoteEnv, PostgresURLEnv} {
		t.Setenv(env, "")
	}
	ctx := context.Background()
	k, err := Kafka(ctx, FakeBrokers(3))
	require.NoError(t, err)
	defer k.Close()
	assert.False(t, k.Real)
	assert.Equal(t, "kfake, in process (3 brokers)", k.Name)
	assert.Len(t, k.Brokers, 3)

	s, err := Spark(ctx)
	require.NoError(t, err)
	assert.False(t, s.Real)
	assert.Equal(t, "stage simulator, in process", s.Name)

	d, err := Postgres(ctx)
	require.NoError(t, err)
	assert.Equal(t, "sqlite", d.Driver)
	assert.Equal(t, "SQLite, in process", d.Name)
}

func TestEmbeddedWinsOverTheVariable(t *testing.T) {
	t.Setenv(KafkaBrokersEnv, closedAddr(t))
	k, err := Kafka(context.Background(), Embedded())
	require.NoError(t, err)
	defer k.Close()
	assert.False(t, k.Real)
}

func TestRealEnginesAreNamedWithTheirVersion(t *testing.T) {
	cases := []struct {
		env  string
		name func(t *testing.T) string
		want string
	}{
		{KafkaBrokersEnv, func(t *testing.T) string {
			k, err := Kafka(context.Background())
			require.NoError(t, err)
			return k.Name
		}, "Kafka 4."},
		{PostgresURLEnv, func(t *testing.T) string {
			d, err := Postgres(context.Background())
			require.NoError(t, err)
			return d.Name
		}, "PostgreSQL "},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			enginetest.Need(t, c.env)
			assert.Contains(t, c.name(t), c.want)
		})
	}
}

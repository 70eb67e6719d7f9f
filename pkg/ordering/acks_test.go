package ordering

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/dsgym/dsgym/pkg/engines/local"
	"github.com/stretchr/testify/require"
)

// clusterEnv names the three-broker cluster whose brokers the test kills
// (make test starts it and sets it).
const clusterEnv = "DSGYM_KAFKA_CLUSTER"

// With acks=all and min.insync.replicas=2 a record is acknowledged only
// once two replicas hold it, so killing the leader loses no acknowledged
// record, over five kills; the weaker settings are measured and logged
// (acks=1 can lose what the leader acknowledged before a follower fetched
// it; whether it does depends on the replication lag at the kill).
func TestClusterAcksUnderALeaderKill(t *testing.T) {
	brokers := enginetest.Need(t, clusterEnv)
	cfg, err := local.FromEnv()
	require.NoError(t, err)
	cluster := local.NewKafka(cfg, 3)
	require.Equal(t, cluster.Brokers(), brokers, "%s must name the cluster this checkout started: the test kills its brokers", clusterEnv)
	ctx := context.Background()
	k, err := engines.Kafka(ctx, engines.Brokers(strings.Split(brokers, ",")...))
	require.NoError(t, err)
	runs := []struct {
		acks   Acks
		minISR int
		kills  int
	}{{AcksAll, 2, 5}, {AcksAll, 1, 1}, {AcksLeader, 1, 1}, {AcksNone, 1, 1}}
	for _, r := range runs {
		lost, acked := 0, 0
		for kill := range r.kills {
			began := time.Now()
			d, err := LeaderKill(ctx, k, cluster, r.acks, r.minISR, 600)
			require.NoError(t, err)
			took := time.Since(began)
			t.Logf("%v, min.insync.replicas=%d, kill %d: killed broker %d; %d of %d acknowledged, %d failed, %d acknowledged then lost; p50 %v, p99 %v, longest gap %v; back in %v; %v in all",
				r.acks, r.minISR, kill+1, d.Killed, d.Acked, d.Sent, d.Failed, d.LostAcked, d.P50.Round(10*time.Microsecond), d.P99.Round(10*time.Microsecond), d.LongestStop.Round(time.Millisecond), d.Back.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
			require.Less(t, took, 60*time.Second, "one setting's run is budgeted at 60 s")
			lost += d.LostAcked
			acked += d.Acked
		}
		if r.acks == AcksAll && r.minISR == 2 {
			require.Zero(t, lost, "acks=all, min.insync.replicas=2: acknowledged records lost over %d leader kills", r.kills)
			require.Greater(t, acked, r.kills*300, "producing goes on after the leader is gone")
		}
	}
}

func TestLeaderKillRefusesBadInput(t *testing.T) {
	k := embedded(t)
	_, err := LeaderKill(context.Background(), k, nil, AcksAll, 2, 600)
	require.ErrorContains(t, err, "make kafka-cluster")
}

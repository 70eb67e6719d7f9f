package enginetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/engines/local"
)

// PrivateKafka starts a real Kafka broker (nodes 1) or cluster (nodes 3)
// that belongs to t alone: its own run directory under t.TempDir() and its
// own free ports, stopped when t ends. A test that kills, pauses or
// restarts a broker uses one, so that it never pulls the shared broker
// (DSGYM_KAFKA_BROKERS) from under a test running in another package at
// the same time. It needs the installed engines, so it is gated like
// Need(t, "DSGYM_KAFKA_BROKERS"). Starting takes about 3.5 s for one node.
func PrivateKafka(t testing.TB, nodes int) *local.Kafka {
	t.Helper()
	Need(t, "DSGYM_KAFKA_BROKERS")
	cfg, err := local.FromEnv()
	if err != nil {
		t.Fatalf("engine configuration: %v", err)
	}
	cfg.RunDir = t.TempDir()
	port, err := freeRange(nodes)
	if err != nil {
		t.Fatalf("no free ports for a private broker: %v", err)
	}
	cfg.KafkaPort = port
	k := local.NewKafka(cfg, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	took, err := k.Start(ctx)
	// Stop before t.TempDir is removed (cleanups run last in, first out).
	t.Cleanup(func() { _ = k.Stop() })
	if err != nil {
		t.Fatalf("private %s did not start: %v", k.Name(), err)
	}
	t.Logf("private %s at %s, up in %s", k.Name(), k.Brokers(), took.Round(100*time.Millisecond))
	return k
}

// freeRange finds a port p such that p..p+n-1 (brokers) and
// p+100..p+100+n-1 (controllers) are all free on 127.0.0.1. It searches
// 20000-32000, below Linux's ephemeral range (32768-60999), where an
// outgoing connection can take a port between the check and the bind.
func freeRange(n int) (int, error) {
	start := 20000 + (os.Getpid()*37)%11000
	for i := range 200 {
		p := 20000 + (start-20000+i*53)%11800
		if allFree(p, n) && allFree(p+100, n) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports (with %d more 100 above) between 20000 and 32000", n, n)
}

func allFree(p, n int) bool {
	for i := range n {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
		if err != nil {
			return false
		}
		_ = l.Close()
	}
	return true
}

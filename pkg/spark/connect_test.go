package spark

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// checkOneSentence fails t unless err is a *NotAnsweringError whose text is
// one sentence naming the engine, the variable and the make target.
func checkOneSentence(t *testing.T, err error, remote string) {
	t.Helper()
	var na *NotAnsweringError
	if !errors.As(err, &na) {
		t.Fatalf("want a *NotAnsweringError, got %T: %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"Spark Connect is not answering at " + remote, "(" + RemoteEnv + ")", "start it with make spark"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, ". ") {
		t.Errorf("error is not one sentence: %q", msg)
	}
}

func TestConnectToClosedPortFailsFastWithOneSentence(t *testing.T) {
	remote := "sc://" + closedPort(t)
	start := time.Now()
	s, err := Connect(context.Background(), remote)
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if took > ReachTimeout {
		t.Errorf("Connect took %v, more than %v", took, ReachTimeout)
	}
	checkOneSentence(t, err, remote)
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}

func TestConnectToSilentPortGivesUpAtTheDeadline(t *testing.T) {
	// A port that accepts TCP connections and never answers gRPC: the dial
	// succeeds, the first request must not hang past the deadline (a
	// shorter one than ReachTimeout here, to keep the test quick).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	remote := "sc://" + l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	s, err := Connect(ctx, remote)
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Connect to a silent port succeeded")
	}
	if took > 3*time.Second {
		t.Errorf("Connect took %v with a 1 s deadline", took)
	}
	checkOneSentence(t, err, remote)
}

func TestHostPort(t *testing.T) {
	for _, c := range []struct{ remote, want string }{
		{"sc://127.0.0.1:15102", "127.0.0.1:15102"},
		{"sc://localhost", "localhost:15002"},
		{"sc://127.0.0.1:15002/;user_id=x", "127.0.0.1:15002"},
	} {
		got, err := hostPort(c.remote)
		if err != nil || got != c.want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", c.remote, got, err, c.want)
		}
	}
	if _, err := hostPort("http://127.0.0.1:15002"); err == nil {
		t.Error("hostPort accepted an http:// remote")
	}
}

package fault

import (
	"strings"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// ticker is a node that performs one effect (a send to itself) every
// millisecond, ten times, and counts its restarts.
func ticker(t *testing.T, crashes []Crash) (*sim.Sim, *sim.Network, *Injector, *int) {
	t.Helper()
	s := sim.New(1)
	net := sim.NewNetwork(s, sim.Link{})
	in := New(net, crashes)
	n := in.Node("a")
	restarts := 0
	if err := net.AddNode("a", func(sim.NodeID, any) {}); err != nil {
		t.Fatal(err)
	}
	net.OnRestart("a", func() { restarts++ })
	for i := 1; i <= 10; i++ {
		s.At(time.Duration(i)*time.Millisecond, func() { in.Send(n, "a", i, "tick") })
	}
	return s, net, in, &restarts
}

func TestAStepCrashStrikesRightAfterTheNthEffect(t *testing.T) {
	for _, after := range []int{0, 1, 4} {
		s, _, in, restarts := ticker(t, []Crash{After("a", after, 2500*time.Microsecond)})
		_ = s.Run()
		log := in.Log()
		if len(log) != 1 || *restarts != 1 {
			t.Fatalf("after=%d: crashes %v, restarts %d; want one of each", after, log, *restarts)
		}
		// The node ticks at 1..10 ms; it crashes at tick after (or at the
		// first tick for 0) and misses the ticks of the next 2.5 ms.
		at := time.Duration(max(after, 1)) * time.Millisecond
		if !strings.Contains(log[0], "crashed at "+at.String()) {
			t.Errorf("after=%d: %q, want a crash at %v", after, log[0], at)
		}
		// After k >= 1 effects the ticks at k+1 and k+2 ms are lost; with
		// k = 0 the first tick is lost too (the crash comes before it).
		want := 8
		if after == 0 {
			want = 7
		}
		if got := in.Node("a").Effects(); got != want {
			t.Errorf("after=%d: %d effects, want %d", after, got, want)
		}
		if in.AllUp() != at+2500*time.Microsecond {
			t.Errorf("after=%d: all up at %v, want %v", after, in.AllUp(), at+2500*time.Microsecond)
		}
	}
}

func TestATimedCrashStopsSendsUntilTheRestart(t *testing.T) {
	s, net, in, restarts := ticker(t, []Crash{At("a", 3500*time.Microsecond, 3*time.Millisecond)})
	_ = s.Run()
	if *restarts != 1 || !net.Up("a") {
		t.Fatalf("restarts %d, up %v; want one restart and the node up", *restarts, net.Up("a"))
	}
	// Ticks at 4, 5 and 6 ms fall in the downtime [3.5, 6.5) ms.
	if got := in.Node("a").Effects(); got != 7 {
		t.Errorf("%d effects, want 7", got)
	}
}

func TestValidateRejectsImpossibleCrashes(t *testing.T) {
	nodes := []string{"a", "b"}
	tests := []struct {
		name string
		c    Crash
		want string
	}{
		{"unknown node", After("z", 1, 0), `"z"`},
		{"negative downtime", After("a", 1, -1), "negative downtime"},
		{"negative step", After("a", -2, 0), "count starts at 0"},
		{"time before the run", At("a", -1, 0), "outside the run"},
		{"time after the run", At("a", 2*time.Minute, 0), "outside the run"},
		{"restart after the run", At("a", 50*time.Second, 20*time.Second), "restarts after the end"},
		{"downtime as long as the run", After("a", 1, time.Minute), "not shorter than the run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]Crash{tt.c}, nodes, time.Minute)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate(%v) = %v, want an error mentioning %q", tt.c, err, tt.want)
			}
		})
	}
	if err := Validate([]Crash{After("a", 3, time.Second), At("b", time.Second, time.Second)}, nodes, time.Minute); err != nil {
		t.Errorf("valid crashes rejected: %v", err)
	}
}

func TestPassStubRepanicsOnlyForStubs(t *testing.T) {
	repanics := func(v any) (out bool) {
		defer func() { out = recover() != nil }()
		PassStub(v)
		return false
	}
	if !repanics("not implemented yet: F: do it") {
		t.Error("a stub's panic was swallowed")
	}
	if repanics("index out of range") || repanics(42) {
		t.Error("an ordinary panic was passed on")
	}
}

func TestStuckNamesTheTimeAndTheNodes(t *testing.T) {
	s, _, in, _ := ticker(t, nil)
	_ = s.Run()
	if in.Stuck(nil, nil, time.Minute) != nil {
		t.Error("nothing stuck should give nil")
	}
	err := in.Stuck([]string{"a waits for b"}, nil, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "virtual time 10ms") || !strings.Contains(err.Error(), "a waits for b") || !strings.Contains(err.Error(), "nothing left to happen") {
		t.Errorf("Stuck = %v", err)
	}
}

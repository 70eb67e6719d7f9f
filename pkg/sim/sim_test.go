package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEventsRunInTimeThenSchedulingOrder(t *testing.T) {
	s := New(1)
	var got []string
	s.At(20*time.Millisecond, func() { got = append(got, "c") })
	s.At(10*time.Millisecond, func() { got = append(got, "a") })
	s.At(10*time.Millisecond, func() { got = append(got, "b") })
	s.After(0, func() {
		got = append(got, "first")
		s.After(5*time.Millisecond, func() { got = append(got, "nested") })
	})
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if want := "first nested a b c"; strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
	if s.Now() != 20*time.Millisecond {
		t.Errorf("clock after run = %v, want 20ms", s.Now())
	}
}

func TestStoppedTimersNeverFire(t *testing.T) {
	s := New(1)
	fired := false
	tm := s.After(time.Second, func() { fired = true })
	if !tm.Pending() || !tm.Stop() || tm.Stop() {
		t.Fatal("Stop should succeed once on a pending timer")
	}
	_ = s.Run()
	if fired {
		t.Error("a stopped timer fired")
	}
}

func TestIdleTellsAQuietModelFromAHorizon(t *testing.T) {
	s := New(1)
	tm := s.After(time.Hour, func() {})
	_ = s.RunUntil(time.Minute)
	if s.Idle() {
		t.Error("Idle() = true with an event an hour away")
	}
	tm.Stop()
	if !s.Idle() {
		t.Error("Idle() = false when the only event was stopped")
	}
}

func TestStoppingANodeTimerForgetsIt(t *testing.T) {
	s := New(1)
	n := NewNetwork(s, Link{})
	must(t, n.AddNode("a", func(NodeID, any) {}))
	for i := 0; i < 100; i++ {
		n.Timer("a", time.Second, func() {}).Stop()
	}
	if got := len(n.nodes["a"].timers); got != 0 {
		t.Errorf("%d stopped timers still tracked by the node", got)
	}
}

func TestRunUntilAdvancesTheClockAndLeavesLaterEvents(t *testing.T) {
	s := New(1)
	n := 0
	for i := 1; i <= 10; i++ {
		s.At(time.Duration(i)*time.Second, func() { n++ })
	}
	_ = s.RunUntil(5500 * time.Millisecond)
	if n != 5 || s.Now() != 5500*time.Millisecond {
		t.Errorf("after RunUntil(5.5s): %d events, clock %v; want 5 and 5.5s", n, s.Now())
	}
	_ = s.RunFor(time.Hour)
	if n != 10 {
		t.Errorf("after RunFor: %d events, want 10", n)
	}
}

func TestAModelThatNeverQuietensHitsTheStepLimit(t *testing.T) {
	s := New(1)
	s.SetMaxSteps(1000)
	var tick func()
	tick = func() { s.After(time.Millisecond, tick) }
	tick()
	err := s.Run()
	if !errors.Is(err, ErrStepLimit) {
		t.Fatalf("Run() = %v, want ErrStepLimit", err)
	}
	if !strings.Contains(err.Error(), "virtual time") {
		t.Errorf("the error should name the virtual time: %v", err)
	}
}

func TestRandomStreamsAreSeededAndIndependent(t *testing.T) {
	a, b := New(7), New(7)
	x := a.Rand("x").Uint64()
	if y := b.Rand("x").Uint64(); x != y {
		t.Error("the same seed and stream gave different numbers")
	}
	// Drawing from another stream first does not shift stream "x".
	c := New(7)
	c.Rand("other").Uint64()
	if z := c.Rand("x").Uint64(); z != x {
		t.Error("a draw on another stream shifted stream x")
	}
	if New(8).Rand("x").Uint64() == x {
		t.Error("different seeds gave the same first number")
	}
}

func TestSimilarlyNamedStreamsAreNotCorrelated(t *testing.T) {
	// Streams named client-0..client-9 must draw independent first coins:
	// neighbouring names agree about half the time, over many seeds.
	agree, total := 0, 0
	for seed := uint64(1); seed <= 300; seed++ {
		prev := -1
		for i := 0; i < 10; i++ {
			c := NewRand(seed, fmt.Sprintf("client-%d", i)).IntN(2)
			if prev >= 0 {
				total++
				if c == prev {
					agree++
				}
			}
			prev = c
		}
	}
	if frac := float64(agree) / float64(total); frac < 0.45 || frac > 0.55 {
		t.Errorf("neighbouring streams agreed on %.3f of first coins; want about 0.5", frac)
	}
}

// echo builds a two-node network where b answers every message from a.
func echo(t *testing.T, seed uint64, l Link) (*Sim, *Network, *[]string) {
	t.Helper()
	s := New(seed)
	n := NewNetwork(s, l)
	var got []string
	must(t, n.AddNode("a", func(from NodeID, msg any) { got = append(got, fmt.Sprint(msg)) }))
	must(t, n.AddNode("b", func(from NodeID, msg any) { n.Send("b", from, fmt.Sprint("re:", msg)) }))
	return s, n, &got
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMessagesArriveAfterTheLinkLatency(t *testing.T) {
	s, n, got := echo(t, 1, Link{Latency: 10 * time.Millisecond})
	n.Send("a", "b", "ping")
	_ = s.Run()
	if len(*got) != 1 || s.Now() != 20*time.Millisecond {
		t.Errorf("got %v at %v, want one reply at 20ms (two 10 ms hops)", *got, s.Now())
	}
}

func TestDropRateMatchesTheLinkSetting(t *testing.T) {
	s, n, got := echo(t, 3, Link{Latency: time.Millisecond, Drop: 0.2})
	for i := 0; i < 10000; i++ {
		n.Send("a", "b", i)
	}
	_ = s.Run()
	// Each round trip survives two hops: 0.8 * 0.8 = 64%.
	frac := float64(len(*got)) / 10000
	if math.Abs(frac-0.64) > 0.02 {
		t.Errorf("%.3f of round trips survived, want about 0.64", frac)
	}
	st := n.Stats()
	if st.Dropped+st.Delivered != st.Sent {
		t.Errorf("stats do not add up: %+v", st)
	}
}

func TestDuplicatesDeliverTwice(t *testing.T) {
	s, n, got := echo(t, 5, Link{Latency: time.Millisecond, Duplicate: 1})
	n.Send("a", "b", "x")
	_ = s.Run()
	// a->b duplicated (2 arrivals), each answered and duplicated again: 4.
	if len(*got) != 4 {
		t.Errorf("got %d replies, want 4 with certain duplication on both hops", len(*got))
	}
}

func TestFIFOLinksKeepOrderAndJitteryLinksReorder(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		t.Run(fmt.Sprintf("fifo=%v", fifo), func(t *testing.T) {
			s := New(9)
			n := NewNetwork(s, Link{Latency: time.Millisecond, Jitter: 50 * time.Millisecond, FIFO: fifo})
			var order []int
			must(t, n.AddNode("a", func(NodeID, any) {}))
			must(t, n.AddNode("b", func(_ NodeID, m any) { order = append(order, m.(int)) }))
			for i := 0; i < 100; i++ {
				n.Send("a", "b", i)
			}
			_ = s.Run()
			inOrder := true
			for i := 1; i < len(order); i++ {
				if order[i] < order[i-1] {
					inOrder = false
				}
			}
			if inOrder != fifo {
				t.Errorf("delivered in order = %v, want %v", inOrder, fifo)
			}
		})
	}
}

func TestPartitionsRefuseMessagesUntilHealed(t *testing.T) {
	s, n, got := echo(t, 1, Link{Latency: time.Millisecond})
	must(t, n.Partition([]NodeID{"a"}, []NodeID{"b"}))
	n.Send("a", "b", "during")
	_ = s.Run()
	n.Heal()
	n.Send("a", "b", "after")
	_ = s.Run()
	if strings.Join(*got, ",") != "re:after" {
		t.Errorf("got %v, want only the reply sent after healing", *got)
	}
	if n.Stats().Partitioned != 1 {
		t.Errorf("partitioned = %d, want 1", n.Stats().Partitioned)
	}
	if err := n.Partition([]NodeID{"a"}, []NodeID{"a"}); err == nil {
		t.Error("a node in two groups should be an error")
	}
	if err := n.Partition([]NodeID{"zz"}); err == nil {
		t.Error("an unknown node should be an error")
	}
}

func TestACrashedNodeLosesMessagesAndTimersUntilRestart(t *testing.T) {
	s := New(1)
	n := NewNetwork(s, Link{Latency: 10 * time.Millisecond})
	var got []string
	restarted := false
	must(t, n.AddNode("a", func(NodeID, any) {}))
	must(t, n.AddNode("b", func(_ NodeID, m any) { got = append(got, fmt.Sprint(m)) }))
	n.OnRestart("b", func() { restarted = true })
	fired := false
	n.Timer("b", time.Second, func() { fired = true })
	n.Send("a", "b", "in flight")
	s.After(5*time.Millisecond, func() { n.Crash("b") })
	s.After(2*time.Second, func() { n.Restart("b"); n.Send("a", "b", "later") })
	_ = s.Run()
	if fired {
		t.Error("a crashed node's timer fired")
	}
	if strings.Join(got, ",") != "later" || !restarted {
		t.Errorf("got %v (restart hook ran: %v); want only the message sent after restart", got, restarted)
	}
	if n.Stats().ToDownNode != 1 {
		t.Errorf("messages to a down node = %d, want 1", n.Stats().ToDownNode)
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	run := func(seed uint64) string {
		s, n, _ := echo(t, seed, Link{Latency: time.Millisecond, Jitter: 5 * time.Millisecond, Drop: 0.1, Duplicate: 0.1})
		tr := n.Record(0)
		for i := 0; i < 50; i++ {
			n.Send("a", "b", i)
		}
		_ = s.Run()
		return tr.Mermaid(MermaidOptions{Times: true})
	}
	if run(42) != run(42) {
		t.Error("two runs with seed 42 gave different traces")
	}
	if run(42) == run(43) {
		t.Error("seeds 42 and 43 gave the same trace")
	}
}

func TestMermaidDrawsDeliveriesLossesAndCrashes(t *testing.T) {
	s, n, _ := echo(t, 1, Link{Latency: time.Millisecond})
	tr := n.Record(0)
	n.Send("a", "b", "ping")
	_ = s.Run()
	n.Crash("b")
	n.Send("a", "b", "lost one")
	_ = s.Run()
	got := tr.Mermaid(MermaidOptions{Participants: []NodeID{"a", "b"}})
	for _, want := range []string{"sequenceDiagram", "participant a", "a->>b: ping", "b->>a: re:ping", "Note over b: crash", "a-xb: lost one (receiver down)"} {
		if !strings.Contains(got, want) {
			t.Errorf("diagram lacks %q:\n%s", want, got)
		}
	}
}

func TestInvalidLinksAndRegionsAreErrors(t *testing.T) {
	n := NewNetwork(New(1), Link{})
	for _, l := range []Link{{Latency: -1}, {Jitter: -1}, {Drop: 1.5}, {Duplicate: -0.1}, {Drop: math.NaN()}} {
		if err := n.SetLink("a", "b", l); err == nil {
			t.Errorf("SetLink(%+v) gave no error", l)
		}
	}
	if _, err := OneWay("moon", USEast); err == nil {
		t.Error("an unknown region should be an error")
	}
	if d, err := OneWay(EUWest, USEast); err != nil || d != 38*time.Millisecond {
		t.Errorf("OneWay(eu-west, us-east) = %v, %v; want 38ms", d, err)
	}
	if err := n.AddNode("a", nil); err == nil {
		t.Error("a node without a handler should be an error")
	}
}

func BenchmarkEventThroughput(b *testing.B) {
	s := New(1)
	n := NewNetwork(s, Link{Latency: time.Millisecond, Jitter: time.Millisecond})
	_ = n.AddNode("a", func(NodeID, any) {})
	_ = n.AddNode("b", func(from NodeID, m any) {})
	b.ReportAllocs()
	for b.Loop() {
		n.Send("a", "b", 1)
		s.Step()
	}
}

func ExampleNetwork() {
	s := New(42)
	net := NewNetwork(s, Link{Latency: 10 * time.Millisecond})
	_ = net.AddNode("client", func(from NodeID, msg any) {
		fmt.Printf("%v: client got %v from %s\n", s.Now(), msg, from)
	})
	_ = net.AddNode("server", func(from NodeID, msg any) {
		net.Send("server", from, "pong")
	})
	net.Send("client", "server", "ping")
	_ = s.Run()
	// Output: 20ms: client got pong from server
}

package causal

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func space(t testing.TB) *Space {
	t.Helper()
	s, err := NewSpace("us-east", "eu-west", "ap-south")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func vc(t testing.TB, s *Space, us, eu, ap uint64) VC {
	t.Helper()
	c, err := s.Of(map[string]uint64{"us-east": us, "eu-west": eu, "ap-south": ap})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompareOrdersClocksAsHappenedBefore(t *testing.T) {
	s := space(t)
	for _, tc := range []struct {
		name string
		a, b VC
		want Order
	}{
		{"equal clocks are equal", vc(t, s, 1, 2, 3), vc(t, s, 1, 2, 3), Equal},
		{"entrywise smaller happened before", vc(t, s, 1, 2, 3), vc(t, s, 1, 3, 3), Before},
		{"entrywise larger happened after", vc(t, s, 2, 2, 3), vc(t, s, 1, 2, 3), After},
		{"each ahead somewhere: concurrent", vc(t, s, 2, 0, 0), vc(t, s, 0, 1, 0), Concurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.a, tc.b)
			if err != nil || got != tc.want {
				t.Errorf("Compare(%v, %v) = %v, %v; want %v", tc.a, tc.b, got, err, tc.want)
			}
		})
	}
}

func TestMergeTakesTheMaximumOfBothSides(t *testing.T) {
	s := space(t)
	m, err := Merge(vc(t, s, 5, 0, 2), vc(t, s, 1, 7, 2))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := Compare(m, vc(t, s, 5, 7, 2)); o != Equal {
		t.Errorf("Merge = %v, want [5 7 2]", m)
	}
}

func TestClocksFromDifferentRegionSetsAreAnError(t *testing.T) {
	a, b := space(t), space(t)
	if _, err := Compare(a.Zero(), b.Zero()); err != ErrSpaces {
		t.Errorf("Compare across spaces: %v, want ErrSpaces", err)
	}
	if _, err := Merge(a.Zero(), b.Zero()); err != ErrSpaces {
		t.Errorf("Merge across spaces: %v, want ErrSpaces", err)
	}
	if _, err := a.Of(map[string]uint64{"mars": 1}); err == nil {
		t.Error("an unknown region is accepted")
	}
	if _, err := NewSpace("a", "a"); err == nil {
		t.Error("a duplicate region is accepted")
	}
}

// world makes n events at three regions: each region writes, and now and
// then first receives another region's writes (so events depend across
// regions); it returns them in creation order.
func world(t testing.TB, s *Space, seed uint64, n int) []Event {
	r := rand.New(rand.NewPCG(seed, 3))
	local := []VC{s.Zero(), s.Zero(), s.Zero()}
	var all []Event
	for i := 0; i < n; i++ {
		x := r.IntN(3)
		if len(all) > 0 && r.IntN(3) == 0 {
			// x has heard of a random earlier event (and so of its causes)
			m, _ := Merge(local[x], all[r.IntN(len(all))].Clock)
			local[x] = m
		}
		local[x] = local[x].Tick(x)
		all = append(all, Event{ID: string(rune('a'+x)) + string(rune('0'+i%10)), Origin: x, Clock: local[x]})
	}
	return all
}

// deliver applies each event at its origin when it is written and sends
// it to the two other regions with a random delay of up to 50 events'
// time; a region applies what arrives through its causal buffer, or, when
// viaBuffer is false, on arrival. It returns every apply in time order.
func deliver(s *Space, seed uint64, events []Event, viaBuffer bool) []Apply {
	r := rand.New(rand.NewPCG(seed, 4))
	type arrival struct {
		at     float64
		region int
		e      Event
	}
	var arr []arrival
	for i, e := range events {
		arr = append(arr, arrival{at: float64(i), region: e.Origin, e: e})
		for x := 0; x < 3; x++ {
			if x != e.Origin {
				arr = append(arr, arrival{at: float64(i) + 50*r.Float64(), region: x, e: e})
			}
		}
	}
	slices.SortStableFunc(arr, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
	bufs := []*Buffer{NewBuffer(s), NewBuffer(s), NewBuffer(s)}
	var applies []Apply
	for _, a := range arr {
		if !viaBuffer {
			applies = append(applies, Apply{Region: a.region, Event: a.e})
			continue
		}
		out, _ := bufs[a.region].Receive(a.e)
		for _, e := range out {
			applies = append(applies, Apply{Region: a.region, Event: e})
		}
	}
	return applies
}

func TestTheBufferDeliversCausallyAndTheCheckerCatchesDeliveryOnArrival(t *testing.T) {
	s := space(t)
	const seeds, n = 50, 300
	caught := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		events := world(t, s, seed, n)
		applies := deliver(s, seed, events, true)
		if len(applies) != 3*n {
			t.Fatalf("seed %d: %d applies, want every event at every region (%d)", seed, len(applies), 3*n)
		}
		good, err := Check(s, applies)
		if err != nil {
			t.Fatal(err)
		}
		if len(good) > 0 {
			t.Fatalf("seed %d: the buffer let %d causal violations through, first: %v", seed, len(good), good[0])
		}
		if bad, _ := Check(s, deliver(s, seed, events, false)); len(bad) > 0 {
			caught++
		}
	}
	if caught < seeds*9/10 {
		t.Errorf("delivery on arrival was caught in %d of %d seeds; want at least 90%%", caught, seeds)
	}
	t.Logf("no violation in %d seeded runs through the buffer; delivery on arrival caught in %d of %d", seeds, caught, seeds)
}

func TestABufferThatDeliversOnEqualClocksIsCaught(t *testing.T) {
	s := space(t)
	e1 := Event{ID: "us1", Origin: 0, Clock: vc(t, s, 1, 0, 0)}
	e2 := Event{ID: "eu1", Origin: 1, Clock: vc(t, s, 1, 1, 0)} // eu-west saw us1 first
	// applied at ap-south: eu1 before us1
	v, err := Check(s, []Apply{{Region: 2, Event: e2}, {Region: 2, Event: e1}})
	if err != nil || len(v) != 1 || v[0].Event != "eu1" || v[0].Missing != 0 {
		t.Fatalf("Check = %v, %v; want eu1 flagged for missing us1", v, err)
	}
	if Deliverable(e2, s.Zero()) {
		t.Error("eu1 is deliverable before us1")
	}
	if !Deliverable(e1, s.Zero()) {
		t.Error("us1 is not deliverable first")
	}
}

func TestHLCStaysAheadOfCausesAndNearPhysicalTime(t *testing.T) {
	base := time.Unix(1000, 0)
	skewed := func(d time.Duration) func() time.Time { return func() time.Time { return base.Add(d) } }
	a, _ := NewHLC(skewed(0))
	b, _ := NewHLC(skewed(-50 * time.Millisecond)) // b's clock is 50 ms behind
	ta := a.Now()
	tb := b.Update(ta)
	if !ta.Less(tb) {
		t.Errorf("receipt %v not after send %v", tb, ta)
	}
	if tb.L != ta.L || tb.C != ta.C+1 {
		t.Errorf("b's timestamp %v: want L of the sender and C+1", tb)
	}
	if _, err := NewHLC(nil); err == nil {
		t.Error("an HLC without a physical clock is accepted")
	}
	var l Lamport
	if l.Tick() != 1 || l.Recv(10) != 11 {
		t.Error("Lamport clock: Tick then Recv(10) should give 1 then 11")
	}
}

func TestASessionTokenBlocksReadsFromRegionsBehindIt(t *testing.T) {
	s := space(t)
	var tok Token
	tok, _ = tok.Observe(vc(t, s, 3, 1, 0))
	if tok.ServableAt(vc(t, s, 2, 5, 5)) {
		t.Error("a region that has not applied us-east:3 served the session")
	}
	if !tok.ServableAt(vc(t, s, 3, 1, 0)) {
		t.Error("a region exactly at the token cannot serve it")
	}
}

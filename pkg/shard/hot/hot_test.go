package hot

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2025, 10, 26, 13, 0, 0, 0, time.UTC)

func TestSaltTableRecordsHistoryForReads(t *testing.T) {
	tab := NewSaltTable()
	if got := tab.At("acme", t0); got != 1 {
		t.Fatalf("an unknown customer has %d salts, want 1", got)
	}
	steps := []struct {
		at    time.Duration
		salts int
	}{{10 * time.Minute, 4}, {20 * time.Minute, 16}, {40 * time.Minute, 2}, {50 * time.Minute, 1}}
	for _, s := range steps {
		if changed, err := tab.Set("acme", t0.Add(s.at), s.salts); err != nil || !changed {
			t.Fatalf("Set(acme, +%v, %d) = %v, %v", s.at, s.salts, changed, err)
		}
	}
	tests := []struct {
		name     string
		from, to time.Duration
		want     int
	}{
		{"a read before any salting visits one salt", 0, 10 * time.Minute, 1},
		{"a read inside the 4-salt epoch visits 4", 12 * time.Minute, 18 * time.Minute, 4},
		{"a read spanning the 16-salt epoch visits 16", 5 * time.Minute, 45 * time.Minute, 16},
		{"a read after the factor fell visits what was used in its range", 41 * time.Minute, 55 * time.Minute, 2},
		{"a read after the customer cooled down visits one salt", 50 * time.Minute, 60 * time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tab.Span("acme", t0.Add(tt.from), t0.Add(tt.to))
			if err != nil || got != tt.want {
				t.Errorf("Span(+%v, +%v) = %d, %v; want %d", tt.from, tt.to, got, err, tt.want)
			}
		})
	}
	t.Run("setting the factor in effect changes nothing", func(t *testing.T) {
		if changed, err := tab.Set("acme", t0.Add(55*time.Minute), 1); err != nil || changed {
			t.Errorf("Set to the current factor = %v, %v; want false, nil", changed, err)
		}
	})
	t.Run("pruning keeps the epoch in effect", func(t *testing.T) {
		n := tab.Prune(t0.Add(45 * time.Minute))
		if n != 2 {
			t.Errorf("Prune removed %d epochs, want 2 (the 4- and 16-salt ones)", n)
		}
		if got := tab.At("acme", t0.Add(45*time.Minute)); got != 2 {
			t.Errorf("after pruning, At(+45m) = %d, want 2", got)
		}
	})
}

func TestSaltTableBadInput(t *testing.T) {
	tab := NewSaltTable()
	if _, err := tab.Set("", t0, 2); err == nil {
		t.Error("an empty customer is not an error")
	}
	if _, err := tab.Set("a", t0, 0); err == nil {
		t.Error("a salt factor of 0 is not an error")
	}
	_, _ = tab.Set("a", t0, 2)
	if _, err := tab.Set("a", t0.Add(-time.Second), 4); err == nil {
		t.Error("a change before the last one is not an error")
	}
	if _, err := tab.Span("a", t0, t0.Add(-time.Second)); err == nil {
		t.Error("a range ending before it starts is not an error")
	}
}

func TestPolicyNeedsPowersOfTwoUpToTheCap(t *testing.T) {
	p := Policy{PerSalt: 100, MaxSalts: 16}
	for _, c := range []struct {
		rate float64
		want int
	}{{0, 1}, {100, 1}, {101, 2}, {200, 2}, {201, 4}, {799, 8}, {1601, 16}, {1e9, 16}, {math.NaN(), 1}} {
		if got := p.Needed(c.rate); got != c.want {
			t.Errorf("Needed(%v) = %d, want %d", c.rate, got, c.want)
		}
	}
	for _, bad := range []Policy{{PerSalt: 0, MaxSalts: 1}, {PerSalt: 1, MaxSalts: 0}, {PerSalt: 1, MaxSalts: 1, Cooldown: -1}, {PerSalt: 1, MaxSalts: 1, Margin: 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v is valid", bad)
		}
	}
}

// fakeDetector reports fixed estimates.
type fakeDetector struct{ est map[string]uint64 }

func (f *fakeDetector) Observe(string, uint64) {}
func (f *fakeDetector) Tick()                  {}
func (f *fakeDetector) Counters() int          { return len(f.est) }
func (f *fakeDetector) Estimate(c string) uint64 {
	return f.est[c]
}
func (f *fakeDetector) Hot() []Hit {
	var out []Hit
	for c, n := range f.est {
		if n > 0 {
			out = append(out, Hit{c, n})
		}
	}
	return out
}

func TestControllerRaisesAtOnceAndLowersAfterCooldown(t *testing.T) {
	det := &fakeDetector{est: map[string]uint64{}}
	cfg := Config{Slots: 1, Capacity: 10, Threshold: 0.1}
	tab := NewSaltTable()
	ctl, err := NewController(det, cfg, Policy{PerSalt: 100, MaxSalts: 8, Cooldown: 3, Margin: 0.2}, tab, time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	tick := func(i int, est uint64) int {
		det.est["acme"] = est
		if _, err := ctl.Tick(t0.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatal(err)
		}
		return tab.At("acme", t0.Add(time.Duration(i)*time.Second))
	}
	steps := []struct {
		est  uint64
		want int
		why  string
	}{
		{50, 1, "a cold customer"},
		{110, 1, "just above one salt's capacity: inside the margin"},
		{300, 4, "raised at once"},
		{420, 4, "420 is within the margin of 4 x 100"},
		{150, 4, "below need for 1 decision"},
		{150, 4, "below need for 2 decisions"},
		{150, 2, "lowered after the cooldown of 3"},
		{10, 2, "cooling again: 1"},
		{300, 4, "a rise resets the cooldown"},
	}
	for i, s := range steps {
		if got := tick(i, s.est); got != s.want {
			t.Fatalf("step %d (%s): estimate %d gives %d salts, want %d", i, s.why, s.est, got, s.want)
		}
	}
	if _, err := NewController(nil, cfg, Policy{PerSalt: 1, MaxSalts: 1}, tab, time.Second, 1); err == nil {
		t.Error("a nil detector is not an error")
	}
	if _, err := NewController(det, cfg, Policy{PerSalt: 1, MaxSalts: 1}, tab, 0, 1); err == nil {
		t.Error("a zero slot is not an error")
	}
	if _, err := NewController(det, cfg, Policy{PerSalt: 1, MaxSalts: 1}, tab, time.Second, 0.5); err == nil {
		t.Error("a scale below 1 is not an error")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{{0, 1, 0.1}, {1, 0, 0.1}, {1, 1, 0}, {1, 1, 1.01}, {1, 1, math.NaN()}} {
		if c.Validate() == nil {
			t.Errorf("%+v is valid", c)
		}
	}
	if (Config{1, 1, 1}).Validate() != nil {
		t.Error("threshold 1 is rejected")
	}
}

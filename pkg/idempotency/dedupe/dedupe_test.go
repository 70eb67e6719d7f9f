package dedupe_test

import (
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

func TestRequestValidateNamesTheFirstProblem(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	good := dedupe.Request{Key: "k", Hash: "h", Lease: "l", Now: now, TTL: time.Hour, LeaseFor: time.Minute}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(*dedupe.Request)
	}{
		{"an empty key", func(r *dedupe.Request) { r.Key = "" }},
		{"an empty hash", func(r *dedupe.Request) { r.Hash = "" }},
		{"an empty lease", func(r *dedupe.Request) { r.Lease = "" }},
		{"no time", func(r *dedupe.Request) { r.Now = time.Time{} }},
		{"a zero TTL", func(r *dedupe.Request) { r.TTL = 0 }},
		{"a negative lease", func(r *dedupe.Request) { r.LeaseFor = -time.Second }},
		{"a lease longer than the TTL", func(r *dedupe.Request) { r.LeaseFor = 2 * time.Hour }},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if err := r.Validate(); err == nil {
				t.Errorf("Validate(%+v) accepted %s", r, tt.name)
			}
		})
	}
}

func TestOutcomesHaveNames(t *testing.T) {
	for o, want := range map[dedupe.Outcome]string{dedupe.Claimed: "claimed", dedupe.Replayed: "replayed", dedupe.InFlight: "in flight", dedupe.Mismatch: "mismatch", 0: "Outcome(0)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}

func TestMicrosIsMicrosecondsSinceTheEpoch(t *testing.T) {
	if got := dedupe.Micros(time.Unix(2, 5000)); got != 2_000_005 {
		t.Errorf("Micros(2 s + 5 µs) = %d, want 2000005", got)
	}
}

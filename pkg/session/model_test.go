package session

import (
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

func TestReplicasConvergeAfterCrashesAndRestarts(t *testing.T) {
	tests := []struct {
		name    string
		crashes []Crash
	}{
		{"a replica down for a while catches up from the primary", []Crash{{Replica: 2, At: time.Second, For: 3 * time.Second}}},
		{"an unreachable replica catches up too", []Crash{{Replica: 4, At: time.Second, For: 2 * time.Second, Silent: true}}},
		{"two replicas crashing at once catch up", []Crash{{Replica: 1, At: 500 * time.Millisecond, For: time.Second}, {Replica: 3, At: 500 * time.Millisecond, For: 4 * time.Second}}},
		{"a primary outage leaves no gap", []Crash{{Replica: 0, At: time.Second, For: time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.Ops, cfg.Crashes = 2000, tt.crashes
			w, err := build(cfg, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.run(); err != nil {
				t.Fatal(err)
			}
			// Give replication time to drain: lag, network, a catch-up.
			if err := w.s.RunFor(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			last := uint64(len(w.replicas[0].log))
			for _, r := range w.replicas {
				if r.applied != last {
					t.Errorf("%s applied v%d of v%d", r.id, r.applied, last)
				}
				for k, v := range w.replicas[0].store {
					if r.store[k] != v {
						t.Errorf("%s has %s at v%d, the primary v%d", r.id, k, r.store[k], v)
						break
					}
				}
			}
		})
	}
}

func TestRoutersSuspectSilentReplicasAndTrustThemAgain(t *testing.T) {
	cfg := Default()
	cfg.Ops = 0
	cfg.Crashes = []Crash{{Replica: 2, At: time.Second, For: time.Second}}
	w, err := build(cfg, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.run(); err != nil {
		t.Fatal(err)
	}
	rt := w.routers[sim.EUWest]
	at := func(d time.Duration) bool {
		if err := w.s.RunUntil(d); err != nil {
			t.Fatal(err)
		}
		return rt.up(2)
	}
	if !at(900 * time.Millisecond) {
		t.Error("eu-west-1 believed down before its crash")
	}
	if at(1500 * time.Millisecond) {
		t.Error("eu-west-1 still believed up 500 ms after its crash (SuspectAfter is 300 ms)")
	}
	if !at(2200 * time.Millisecond) {
		t.Error("eu-west-1 still believed down 200 ms after its restart")
	}
}

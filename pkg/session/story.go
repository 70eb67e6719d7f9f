package session

import (
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Step is one scripted operation of a [Story]: wait After (since the
// previous operation ended), then read or write Key.
type Step struct {
	After time.Duration
	Kind  Kind
	Key   string
}

// StoryConfig is a tiny scripted run, small enough to draw: one session in
// ClientRegion, a primary and one replica per other region in Replicas,
// a fixed replication lag with no jitter, and a script.
type StoryConfig struct {
	Strategy     Strategy
	Replicas     []sim.Region
	ClientRegion sim.Region
	Lag          time.Duration
	MaxWait      time.Duration
	Script       []Step
}

// DefaultStory is the chapter's opening scene: a user in eu-west saves
// their profile (the write goes to the primary in us-east), reloads the
// page at once, then again half a second later, while the eu-west replica
// takes 300 ms to apply what it receives.
func DefaultStory(strategy Strategy) StoryConfig {
	return StoryConfig{
		Strategy: strategy, Replicas: []sim.Region{sim.USEast, sim.EUWest}, ClientRegion: sim.EUWest,
		Lag: 300 * time.Millisecond, MaxWait: 150 * time.Millisecond,
		Script: []Step{
			{Kind: Write, Key: "profile"},
			{After: 5 * time.Millisecond, Kind: Read, Key: "profile"},
			{After: 500 * time.Millisecond, Kind: Read, Key: "profile"},
		},
	}
}

// Story runs a scripted session and returns its history and a Mermaid
// sequence diagram of the messages (heartbeats left out). route is needed
// for the write-token strategy only.
func Story(sc StoryConfig, route RouteFunc) (History, string, error) {
	if len(sc.Script) == 0 {
		return nil, "", fmt.Errorf("the story has no steps")
	}
	if len(sc.Script) > 50 {
		return nil, "", fmt.Errorf("a story of %d steps would not fit a diagram; keep it under 50", len(sc.Script))
	}
	for i, st := range sc.Script {
		if st.Kind != Read && st.Kind != Write || st.Key == "" || st.After < 0 {
			return nil, "", fmt.Errorf("step %d (%+v) needs a kind, a key and a non-negative pause", i, st)
		}
	}
	cfg := Default()
	cfg.Strategy, cfg.Replicas, cfg.ClientRegions = sc.Strategy, sc.Replicas, []sim.Region{sc.ClientRegion}
	cfg.Sessions, cfg.Ops, cfg.Lag, cfg.LagJitter, cfg.NetJitter, cfg.MaxWait = 1, len(sc.Script), sc.Lag, 0, 0, sc.MaxWait
	w, err := build(cfg, route, true)
	if err != nil {
		return nil, "", err
	}
	w.clients[0].script = append([]Step(nil), sc.Script...)
	w.clients[0].think = sc.Script[0].After
	tr := w.net.Record(0)
	if _, err := w.run(); err != nil {
		return nil, "", err
	}
	// Keep the session's messages, the replication stream and crashes;
	// heartbeats and routers only clutter the picture.
	kept := &sim.Trace{}
	for _, e := range tr.Events {
		if strings.HasPrefix(string(e.To), "router-") || strings.HasPrefix(e.Msg, "heartbeat") {
			continue
		}
		kept.Events = append(kept.Events, e)
	}
	parts := []sim.NodeID{w.clients[0].id}
	for _, r := range w.replicas {
		parts = append(parts, r.id)
	}
	return w.history, kept.Mermaid(sim.MermaidOptions{Participants: parts, Times: true}), nil
}

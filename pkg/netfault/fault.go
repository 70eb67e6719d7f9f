package netfault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
)

// Delay holds every chunk of bytes flowing in direction dir for latency,
// plus or minus a uniformly random jitter. It applies at once to open
// connections and to new ones. A request-response round trip grows by
// latency for Upstream or Downstream and by twice latency for Both. Calling
// Delay again replaces the previous delay on that direction.
//
// toxiproxy counts in whole milliseconds: latency and jitter are truncated
// to the millisecond. Neither may be negative.
func (p *Proxy) Delay(dir Direction, latency, jitter time.Duration) error {
	if latency < 0 || jitter < 0 {
		return fmt.Errorf("netfault: delay latency %v and jitter %v must not be negative", latency, jitter)
	}
	return p.set(dir, "latency", map[string]int64{
		"latency": latency.Milliseconds(),
		"jitter":  jitter.Milliseconds(),
	})
}

// Bandwidth caps the bytes flowing in direction dir at kilobytesPerSecond
// (1 KB = 1000 bytes), which must be positive. Calling it again replaces the
// previous cap on that direction.
func (p *Proxy) Bandwidth(dir Direction, kilobytesPerSecond int) error {
	if kilobytesPerSecond <= 0 {
		return fmt.Errorf("netfault: bandwidth %d KB/s must be positive", kilobytesPerSecond)
	}
	return p.set(dir, "bandwidth", map[string]int64{"rate": int64(kilobytesPerSecond)})
}

// Cut makes the upstream unreachable, loudly: the proxy closes every open
// connection (the client reads EOF, or gets a reset on write) and stops
// listening, so new dials are refused at once. Restore listens again on the
// same address.
func (p *Proxy) Cut() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tp.Stop()
	return nil
}

// Blackhole makes the upstream unreachable, silently: connections stay
// open and new ones are accepted, but no byte passes either way. Writes
// succeed, reads block until the client's own deadline. It is the nastier
// failure, the one only timeouts detect.
//
// Restore removes it, and in doing so closes the connections that were
// black-holed (toxiproxy's timeout toxic closes its connections when it is
// removed); clients must reconnect, as after a real partition heals.
func (p *Proxy) Blackhole() error {
	// toxiproxy's timeout toxic drops every byte; with timeout 0 it never
	// closes the connection.
	return p.set(Both, "timeout", map[string]int64{"timeout": 0})
}

// Restore removes every fault: Delay, Bandwidth and Blackhole toxics go,
// and a Cut proxy listens again on its old address. Connections opened
// after Restore see a clean network.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tp.Toxics.ResetToxics(p.f.ctx())
	if err := p.tp.Start(); err != nil && !errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
		return fmt.Errorf("netfault: restore proxy %q on %s: %w", p.name, p.addr, err)
	}
	return nil
}

// set puts a toxic of type typ with attributes attrs on each stream of dir,
// replacing a toxic of the same type there. Its name is typ_stream.
func (p *Proxy) set(dir Direction, typ string, attrs map[string]int64) error {
	streams, err := dir.streams()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, stream := range streams {
		name := typ + "_" + stream
		if err := p.tp.Toxics.RemoveToxic(p.f.ctx(), name); err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
			return fmt.Errorf("netfault: replace %s on proxy %q: %w", name, p.name, err)
		}
		body, err := json.Marshal(map[string]any{
			"name":       name,
			"type":       typ,
			"stream":     stream,
			"toxicity":   1.0,
			"attributes": attrs,
		})
		if err != nil {
			return err
		}
		if _, err := p.tp.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
			return fmt.Errorf("netfault: add %s to proxy %q: %w", name, p.name, err)
		}
	}
	return nil
}

// ctx carries f's logger to the toxiproxy calls that log through their
// context.
func (f *Faults) ctx() context.Context {
	return f.logger.WithContext(context.Background())
}

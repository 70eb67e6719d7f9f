package outbox

import (
	"context"
	"errors"
	"net"
	"sync"
)

// outageGate is a dialer that can cut a client off its brokers: while
// down, it closes every connection it made and refuses new ones.
type outageGate struct {
	mu    sync.Mutex
	off   bool
	conns []net.Conn
}

var errOutage = errors.New("outbox: broker unreachable (injected outage)")

func (g *outageGate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off {
		return nil, errOutage
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		g.conns = append(g.conns, c)
	}
	return c, err
}

func (g *outageGate) set(off bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.off = off
	if off {
		for _, c := range g.conns {
			c.Close()
		}
		g.conns = nil
	}
}

func (g *outageGate) down() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.off
}

package netfault

import (
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
)

// Proxy forwards the connections made to Addr to its upstream, through
// whatever faults are set on it. Its methods are safe for concurrent use.
type Proxy struct {
	f        *Faults
	tp       *toxiproxy.Proxy
	name     string
	upstream string
	addr     string

	mu sync.Mutex // serialises fault changes, so replacing a toxic is atomic
}

// Name is the name the proxy was made with. A Kafka broker's proxy is
// named "kafka " + the broker's address.
func (p *Proxy) Name() string { return p.name }

// Upstream is the host:port the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Addr is the 127.0.0.1:port the proxy listens on: dial this instead of the
// upstream. It stays the same across Cut and Restore.
func (p *Proxy) Addr() string { return p.addr }

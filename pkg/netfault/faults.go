package netfault

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// ErrClosed is returned by a Faults that has been closed.
var ErrClosed = errors.New("netfault: closed")

// Faults is a set of proxies sharing one embedded toxiproxy. The zero value
// is not usable; call New. Its methods are safe for concurrent use.
type Faults struct {
	server *toxiproxy.ApiServer
	logger zerolog.Logger

	mu      sync.Mutex
	proxies map[string]*Proxy // by name
	closed  bool
}

// Option configures New.
type Option func(*Faults)

// WithLog sends toxiproxy's log (one JSON line per event: proxy started,
// client accepted, upstream unreachable...) to w. By default it is
// discarded.
func WithLog(w io.Writer) Option {
	return func(f *Faults) { f.logger = zerolog.New(w).With().Timestamp().Logger() }
}

// New returns an empty set of proxies. Close it when done: it stops every
// proxy it made.
func New(opts ...Option) *Faults {
	f := &Faults{logger: zerolog.Nop(), proxies: map[string]*Proxy{}}
	for _, o := range opts {
		o(f)
	}
	// The ApiServer is only toxiproxy's bookkeeping (logger, metrics
	// container). Its Listen is never called, so no HTTP API runs, and a
	// metrics container with no collectors records nothing.
	f.server = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), f.logger)
	return f
}

// Proxy starts a proxy named name that listens on 127.0.0.1 on an
// ephemeral port (see Addr) and forwards each connection to upstream, a
// host:port. The upstream is dialed once per accepted connection, so it need
// not be up yet. Names are unique within f.
func (f *Faults) Proxy(name, upstream string) (*Proxy, error) {
	if name == "" {
		return nil, errors.New("netfault: proxy name is empty")
	}
	if err := checkHostPort(upstream); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if _, ok := f.proxies[name]; ok {
		return nil, fmt.Errorf("netfault: a proxy named %q already exists", name)
	}
	p, err := f.start(name, upstream)
	if err != nil {
		return nil, err
	}
	f.proxies[name] = p
	return p, nil
}

// start makes and starts one toxiproxy proxy. The caller holds f.mu.
func (f *Faults) start(name, upstream string) (*Proxy, error) {
	tp := toxiproxy.NewProxy(f.server, name, "127.0.0.1:0", upstream)
	if err := tp.Start(); err != nil {
		return nil, fmt.Errorf("netfault: start proxy %q: %w", name, err)
	}
	// Start has resolved port 0; a restart (Restore after Cut) binds the
	// same address again, so Addr never changes.
	tp.Lock()
	addr := tp.Listen
	tp.Unlock()
	return &Proxy{f: f, tp: tp, name: name, upstream: upstream, addr: addr}, nil
}

// Proxies returns every proxy of f, those made by Proxy and those made for
// Kafka brokers, sorted by name.
func (f *Faults) Proxies() []*Proxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := make([]*Proxy, 0, len(f.proxies))
	for _, p := range f.proxies {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *Proxy) int { return strings.Compare(a.name, b.name) })
	return ps
}

// Close stops every proxy, closing their connections. Later calls to Proxy
// and Broker, and Kafka dials, fail with ErrClosed. Close always returns
// nil; it has an error so that Faults is an io.Closer.
func (f *Faults) Close() error {
	f.mu.Lock()
	ps := f.proxies
	f.proxies = map[string]*Proxy{}
	f.closed = true
	f.mu.Unlock()
	for _, p := range ps {
		p.tp.Stop()
	}
	return nil
}

// checkHostPort reports whether addr (an upstream or a broker) is a dialable host:port with a
// non-empty host and a port in 1..65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("netfault: address %q is not host:port: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("netfault: address %q has no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("netfault: address %q: port %q is not a number in 1..65535", addr, port)
	}
	return nil
}

package netfault

import (
	"context"
	"net"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOpt is the kgo option that routes a client's every connection
// through f: kgo.Dialer(f.KafkaDialer()). See KafkaDialer.
func (f *Faults) KafkaOpt() kgo.Opt {
	return kgo.Dialer(f.KafkaDialer())
}

// KafkaDialer returns a dial function for kgo.Dialer. For each broker
// address the client dials, the seed brokers first and then the advertised
// addresses it learns from metadata, it dials instead that broker's proxy
// (see Broker), made the first time the address is dialed.
//
// This is why it exists: a proxy in front of the seed alone would be
// bypassed, since metadata tells the client the brokers' real (advertised)
// addresses and the client connects to those directly.
func (f *Faults) KafkaDialer() func(ctx context.Context, network, host string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, _, host string) (net.Conn, error) {
		p, err := f.Broker(host)
		if err != nil {
			return nil, err
		}
		// The proxy listens on 127.0.0.1, so the network is always tcp,
		// whatever the client asked for.
		return d.DialContext(ctx, "tcp", p.Addr())
	}
}

// Broker returns the proxy for the Kafka broker at addr (host:port, spelt
// as the client dials it: as a seed or as advertised in metadata), making
// it if needed. Calling it before the client connects lets a test fault a
// broker from the first byte. Its name is "kafka " + addr.
//
// Two spellings of one broker ("localhost:9092" as a seed, "127.0.0.1:9092"
// as advertised) get two proxies; fault both, or all of Proxies.
func (f *Faults) Broker(addr string) (*Proxy, error) {
	if err := checkHostPort(addr); err != nil {
		return nil, err
	}
	name := "kafka " + addr
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if p, ok := f.proxies[name]; ok {
		return p, nil
	}
	p, err := f.start(name, addr)
	if err != nil {
		return nil, err
	}
	f.proxies[name] = p
	return p, nil
}

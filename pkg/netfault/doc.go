// Package netfault puts network faults between a client and a server: it
// delays, throttles, cuts or black-holes the TCP connection, on purpose, in
// a test or a notebook cell.
//
// It runs toxiproxy (github.com/Shopify/toxiproxy/v2) inside the process. A
// Proxy listens on 127.0.0.1 (an ephemeral port) and forwards every
// connection to its upstream address; faults are toxiproxy "toxics" added to
// the stream between the two. Nothing else listens: no toxiproxy HTTP API,
// no metrics endpoint. toxiproxy's logging is silenced unless WithLog routes
// it somewhere.
//
// The faults, from the mildest to the nastiest:
//
//   - Delay adds latency (and jitter) to the bytes flowing one way or both.
//   - Bandwidth caps the bytes per second flowing one way or both.
//   - Cut closes the connections and stops listening: the client sees EOF or
//     a reset at once and new dials are refused. The failure is loud and
//     fast, like a crashed process.
//   - Blackhole keeps everything open but passes nothing: writes succeed,
//     reads wait forever, new connections are accepted and then starve. The
//     client learns of it only from its own timeouts, like a partition or a
//     dead switch.
//
// Restore undoes them all.
//
// # Kafka
//
// A proxy in front of the seed broker is not enough for Kafka. The client
// asks the seed for metadata, and the metadata lists every broker by its
// ADVERTISED address (advertised.listeners), which is the broker's real
// address, not the proxy's. From then on the client talks to the brokers
// directly and the proxy sees nothing. KafkaOpt solves it on the client
// side: it installs a kgo.Dialer that sends every dial, to the seed or to an
// advertised address, through a proxy of its own for that address, made the
// first time the client dials it. Broker returns that proxy, so a test can
// cut or delay one broker:
//
//	f := netfault.New()
//	defer f.Close()
//	cl, _ := kgo.NewClient(kgo.SeedBrokers(seed), f.KafkaOpt())
//	p, _ := f.Broker(seed)
//	p.Cut() // the broker is unreachable; produce now times out
package netfault

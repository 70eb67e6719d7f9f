package netfault_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/netfault"
)

// newProxy starts a proxy named "echo" in front of a fresh echo server.
func newProxy(t *testing.T) *netfault.Proxy {
	t.Helper()
	f := netfault.New()
	t.Cleanup(func() { f.Close() })
	p, err := f.Proxy("echo", startEcho(t))
	require.NoError(t, err)
	return p
}

func TestProxyListensOnLoopbackAndCarriesBytesBothWays(t *testing.T) {
	p := newProxy(t)
	host, _, err := net.SplitHostPort(p.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)

	for _, size := range []int{1, 4 << 10, 1 << 20} {
		msg := bytes.Repeat([]byte("x"), size)
		_, err := roundTrip(dial(t, p.Addr()), msg, 10*time.Second)
		assert.NoError(t, err, "%d bytes", size)
	}
}

func TestDelayAddsLatencyToEveryRoundTrip(t *testing.T) {
	const latency = 100 * time.Millisecond
	const slack = 250 * time.Millisecond // 2 cores, race detector
	for _, tc := range []struct {
		dir  netfault.Direction
		want time.Duration // added to a round trip
	}{
		{netfault.Upstream, latency},
		{netfault.Downstream, latency},
		{netfault.Both, 2 * latency},
	} {
		t.Run(tc.dir.String(), func(t *testing.T) {
			p := newProxy(t)
			c := dial(t, p.Addr())
			before := medianRoundTrip(t, c, 10)

			require.NoError(t, p.Delay(tc.dir, latency, 0))
			delayed := medianRoundTrip(t, c, 10)

			require.NoError(t, p.Restore())
			restored := medianRoundTrip(t, c, 10)

			t.Logf("median round trip: before %v, delayed %v, restored %v", before, delayed, restored)
			assert.GreaterOrEqual(t, delayed, tc.want*9/10)
			assert.Less(t, delayed, tc.want+slack)
			assert.Less(t, restored, 20*time.Millisecond)
		})
	}
}

func TestDelayAgainReplacesThePreviousDelay(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p.Addr())
	require.NoError(t, p.Delay(netfault.Downstream, 300*time.Millisecond, 0))
	require.NoError(t, p.Delay(netfault.Downstream, 50*time.Millisecond, 0))
	d := medianRoundTrip(t, c, 5)
	t.Logf("median round trip after replacing 300ms by 50ms: %v", d)
	assert.GreaterOrEqual(t, d, 45*time.Millisecond)
	assert.Less(t, d, 250*time.Millisecond)
}

func TestBandwidthCapsThroughput(t *testing.T) {
	const rate = 100  // KB/s
	const size = 50e3 // bytes: 0.5 s at rate
	p := newProxy(t)
	require.NoError(t, p.Bandwidth(netfault.Downstream, rate))
	d, err := roundTrip(dial(t, p.Addr()), bytes.Repeat([]byte("x"), size), 10*time.Second)
	require.NoError(t, err)
	t.Logf("%d bytes at %d KB/s took %v", int(size), rate, d)
	assert.GreaterOrEqual(t, d, 450*time.Millisecond)
	assert.Less(t, d, 3*time.Second)
}

func TestCutClosesConnectionsAndRefusesNewOnes(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p.Addr())
	_, err := roundTrip(c, []byte("ping"), time.Second)
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, p.Cut())
	_, err = roundTrip(c, []byte("ping"), time.Second)
	require.Error(t, err, "open connection must fail")
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "want EOF or reset, not a timeout: %v", err)
	t.Logf("open connection failed after %v: %v", time.Since(start), err)

	c2, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err == nil {
		defer c2.Close()
		_, err = roundTrip(c2, []byte("ping"), time.Second)
	}
	assert.Error(t, err, "new connection must fail")
	t.Logf("new connection: %v", err)
}

func TestBlackholeKeepsConnectionsOpenButPassesNothing(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p.Addr())
	require.NoError(t, p.Blackhole())

	for name, conn := range map[string]net.Conn{"open": c, "new": dial(t, p.Addr())} {
		require.NoError(t, conn.SetDeadline(time.Now().Add(300*time.Millisecond)))
		_, err := conn.Write([]byte("ping"))
		assert.NoError(t, err, "%s connection: write must succeed", name)
		_, err = conn.Read(make([]byte, 4))
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout(), "%s connection: want a read timeout, got %v", name, err)
	}
}

func TestRestoreUndoesEveryFault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*netfault.Proxy) error
	}{
		{"delay", func(p *netfault.Proxy) error { return p.Delay(netfault.Both, time.Second, 0) }},
		{"bandwidth", func(p *netfault.Proxy) error { return p.Bandwidth(netfault.Both, 1) }},
		{"cut", (*netfault.Proxy).Cut},
		{"blackhole", (*netfault.Proxy).Blackhole},
		{"cut and blackhole", func(p *netfault.Proxy) error { return errors.Join(p.Cut(), p.Blackhole()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProxy(t)
			addr := p.Addr()
			require.NoError(t, tc.fault(p))
			require.NoError(t, p.Restore())
			assert.Equal(t, addr, p.Addr(), "Restore keeps the address")
			d := medianRoundTrip(t, dial(t, p.Addr()), 5)
			assert.Less(t, d, 20*time.Millisecond)
		})
	}
}

func TestBadInputIsRejectedWithAClearError(t *testing.T) {
	f := netfault.New()
	defer f.Close()
	p, err := f.Proxy("taken", "127.0.0.1:9")
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		call func() error
		want string // in the error
	}{
		{"empty name", func() error { _, err := f.Proxy("", "127.0.0.1:9"); return err }, "name is empty"},
		{"duplicate name", func() error { _, err := f.Proxy("taken", "127.0.0.1:9"); return err }, "already exists"},
		{"empty upstream", func() error { _, err := f.Proxy("a", ""); return err }, "not host:port"},
		{"no port", func() error { _, err := f.Proxy("a", "localhost"); return err }, "not host:port"},
		{"no host", func() error { _, err := f.Proxy("a", ":9092"); return err }, "has no host"},
		{"empty port", func() error { _, err := f.Proxy("a", "127.0.0.1:"); return err }, "not a number"},
		{"named port", func() error { _, err := f.Proxy("a", "127.0.0.1:kafka"); return err }, "not a number"},
		{"port out of range", func() error { _, err := f.Proxy("a", "127.0.0.1:70000"); return err }, "not a number"},
		{"bad broker", func() error { _, err := f.Broker("broker-without-port"); return err }, "not host:port"},
		{"negative latency", func() error { return p.Delay(netfault.Both, -time.Millisecond, 0) }, "must not be negative"},
		{"negative jitter", func() error { return p.Delay(netfault.Both, time.Millisecond, -1) }, "must not be negative"},
		{"bad direction", func() error { return p.Delay(netfault.Direction(0), time.Millisecond, 0) }, "invalid direction"},
		{"zero bandwidth", func() error { return p.Bandwidth(netfault.Both, 0) }, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "netfault: "), err.Error())
		})
	}
}

func TestClosedFaultsStopsItsProxiesAndRefusesNewOnes(t *testing.T) {
	f := netfault.New()
	p, err := f.Proxy("echo", startEcho(t))
	require.NoError(t, err)
	c := dial(t, p.Addr())
	require.NoError(t, f.Close())

	_, err = c.Read(make([]byte, 1))
	// closed either way: a FIN (EOF) or, when the proxy closes with data
	// unread, a reset
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open connection is not closed: Read returned %v, want EOF or a reset", err)
	}
	_, err = f.Proxy("again", "127.0.0.1:9")
	assert.ErrorIs(t, err, netfault.ErrClosed)
	_, err = f.Broker("127.0.0.1:9092")
	assert.ErrorIs(t, err, netfault.ErrClosed)
	assert.Empty(t, f.Proxies())
}

package netfault_test

import (
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// echoServer listens on 127.0.0.1:0 and writes back every byte it reads. stop
// closes the listener and every connection.
func echoServer() (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// startEcho is echoServer, stopped at the end of t.
func startEcho(t *testing.T) string {
	t.Helper()
	addr, stop := echoServer()
	t.Cleanup(stop)
	return addr
}

// dial connects to addr, closing the connection at the end of t.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg to c and reads it back, within timeout.
func roundTrip(c net.Conn, msg []byte, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		return 0, err
	}
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	if string(got) != string(msg) {
		return 0, io.ErrUnexpectedEOF
	}
	return time.Since(start), nil
}

// medianRoundTrip is the median of n round trips of a short message on c.
func medianRoundTrip(t *testing.T, c net.Conn, n int) time.Duration {
	t.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		d, err := roundTrip(c, []byte("ping"), 5*time.Second)
		if err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		ds[i] = d
	}
	slices.Sort(ds)
	return ds[n/2]
}

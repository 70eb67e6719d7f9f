package proc

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as the supervised server: with PROC_TEST_LISTEN set
// it listens there and echoes one line per connection; with PROC_TEST_FAIL
// it prints a message and exits 1.
func TestMain(m *testing.M) {
	if msg := os.Getenv("PROC_TEST_FAIL"); msg != "" {
		fmt.Println(msg)
		os.Exit(1)
	}
	if addr := os.Getenv("PROC_TEST_LISTEN"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		for {
			c, err := l.Accept()
			if err == nil {
				_, _ = c.Write([]byte("ok\n"))
				c.Close()
			}
		}
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func dialReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 3)
		_, err = c.Read(buf)
		return err
	}
}

func server(t *testing.T, dir, addr string) Spec {
	self, err := os.Executable()
	require.NoError(t, err)
	return Spec{
		Name:         "test server",
		Dir:          dir,
		Argv:         []string{self, "-test.run=^$", addr},
		Env:          []string{"PROC_TEST_LISTEN=" + addr},
		Ports:        []Port{{Addr: addr, Var: "TEST_PORT"}},
		Ready:        dialReady(addr),
		ReadyTimeout: 10 * time.Second,
	}
}

func TestStartTwiceLeavesTheRunningProcessAlone(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	spec := server(t, dir, addr)
	first, err := Start(context.Background(), spec)
	require.NoError(t, err)
	t.Cleanup(func() { _ = Stop(dir, time.Second) })
	assert.False(t, first.Already)
	second, err := Start(context.Background(), spec)
	require.NoError(t, err)
	assert.True(t, second.Already)
	assert.Equal(t, first.PID, second.PID)
	rss, err := RSS(first.PID)
	require.NoError(t, err)
	assert.Greater(t, rss, int64(0))
}

func TestStalePIDFilesAreDetected(t *testing.T) {
	cases := []struct {
		name string
		pid  func(t *testing.T) int
	}{
		{"pid of a process that exited", func(t *testing.T) int {
			p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
			require.NoError(t, err)
			_, _ = p.Wait()
			return p.Pid
		}},
		{"pid reused by another program", func(t *testing.T) int { return os.Getpid() }},
		{"garbage in the pid file", func(t *testing.T) int { return -1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			spec := server(t, dir, addr)
			require.NoError(t, writeState(dir, c.pid(t), []string{"/nonexistent/program", "its-config"}))
			_, running := Running(dir)
			assert.False(t, running, "a stale pid file must not count as running")
			st, err := Start(context.Background(), spec)
			require.NoError(t, err)
			t.Cleanup(func() { _ = Stop(dir, time.Second) })
			assert.False(t, st.Already)
		})
	}
}

func TestTakenPortIsNamedWithItsVariable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, err = Start(context.Background(), server(t, t.TempDir(), l.Addr().String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "port "+l.Addr().String()+" is taken")
	assert.Contains(t, err.Error(), "TEST_PORT")
}

func TestAFailedStartShowsTheLastLinesOfTheLog(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	spec := server(t, dir, addr)
	spec.Env = []string{"PROC_TEST_FAIL=broker says: log directory is corrupt"}
	t0 := time.Now()
	_, err := Start(context.Background(), spec)
	require.Error(t, err)
	assert.Less(t, time.Since(t0), 5*time.Second, "an exit while starting is noticed at once, not at the timeout")
	assert.Contains(t, err.Error(), "exited while starting")
	assert.Contains(t, err.Error(), "log directory is corrupt")
}

func TestReadinessTimesOut(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	spec := server(t, dir, addr)
	spec.Ready = func(context.Context) error { return fmt.Errorf("not yet") }
	spec.ReadyTimeout = 700 * time.Millisecond
	_, err := Start(context.Background(), spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was not ready after")
	_, running := Running(dir)
	assert.False(t, running, "a start that timed out stops what it launched")
}

func TestFaults(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	spec := server(t, dir, addr)
	_, err := Start(context.Background(), spec)
	require.NoError(t, err)
	t.Cleanup(func() { _ = Stop(dir, time.Second) })

	t.Run("a paused process keeps its port but answers nothing", func(t *testing.T) {
		require.NoError(t, Pause(dir))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		// The kernel still accepts connections into the backlog; the read times out.
		assert.Error(t, dialReady(addr)(ctx))
		require.NoError(t, Resume(dir))
		assert.NoError(t, dialReady(addr)(context.Background()))
	})
	t.Run("kill -9 leaves no running process and a restart comes back", func(t *testing.T) {
		pid, _ := Running(dir)
		require.NoError(t, Kill9(dir))
		_, running := Running(dir)
		assert.False(t, running)
		st, err := Start(context.Background(), spec)
		require.NoError(t, err)
		assert.NotEqual(t, pid, st.PID)
		assert.NoError(t, dialReady(addr)(context.Background()))
	})
	t.Run("stop twice is fine", func(t *testing.T) {
		require.NoError(t, Stop(dir, time.Second))
		require.NoError(t, Stop(dir, time.Second))
		_, err := os.Stat(filepath.Join(dir, "pid"))
		assert.True(t, os.IsNotExist(err))
	})
}

package session

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Messages exchanged on the simulated network.
type (
	// writeReq asks the primary (or, with Sticky, the pinned replica, which
	// forwards it) to write key. client is who gets the acknowledgement.
	writeReq struct {
		id     uint64
		key    string
		client sim.NodeID
	}
	// writeAck acknowledges a write with the log position it was given.
	writeAck struct {
		id     uint64
		lsn    uint64
		client sim.NodeID
	}
	// entry is one log entry on the replication stream.
	entry struct {
		lsn uint64
		key string
	}
	// catchUp asks the primary for the log from position from on.
	catchUp struct{ from uint64 }
	// readReq reads key. With wait > 0 the replica holds the read until it
	// has applied minPos, for at most wait.
	readReq struct {
		id     uint64
		key    string
		minPos uint64
		wait   time.Duration
	}
	// readResp answers a read; behind means the wait ran out first.
	readResp struct {
		id                uint64
		version           uint64
		applied, received uint64
		behind            bool
	}
	// heartbeat reports a replica's log positions to a router.
	heartbeat struct {
		replica           int
		applied, received uint64
		sent              time.Duration
	}
)

func describe(m any) string {
	switch x := m.(type) {
	case writeReq:
		return "write " + x.key
	case writeAck:
		return fmt.Sprintf("ack v%d", x.lsn)
	case entry:
		return fmt.Sprintf("log v%d %s", x.lsn, x.key)
	case catchUp:
		return fmt.Sprintf("catch up from v%d", x.from)
	case readReq:
		if x.wait > 0 {
			return fmt.Sprintf("read %s (token v%d, wait %v)", x.key, x.minPos, x.wait)
		}
		return "read " + x.key
	case readResp:
		if x.behind {
			return fmt.Sprintf("not yet (applied v%d)", x.applied)
		}
		return fmt.Sprintf("v%d (applied v%d)", x.version, x.applied)
	case heartbeat:
		return fmt.Sprintf("heartbeat applied v%d", x.applied)
	}
	return fmt.Sprint(m)
}

// world is one simulation run.
type world struct {
	cfg      Config
	s        *sim.Sim
	net      *sim.Network
	route    RouteFunc
	names    []string
	replicas []*replica
	routers  map[sim.Region]*router
	clients  []*client
	history  History
	shared   []string // the shared keys
	nextID   uint64
	commitAt []time.Duration // commitAt[lsn-1]: when the primary committed lsn
	lag      []time.Duration // commit-to-apply delay of every entry at every replica
	err      error           // the first fatal error (a broken RouteFunc)
	stats    runStats
}

type runStats struct {
	waits, fallbacks, repins int
}

func (w *world) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

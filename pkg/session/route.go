package session

import (
	"errors"
	"fmt"
	"time"
)

// ReplicaView is what a client's router knows about one replica when it
// routes a read: the log positions the replica last reported (its
// heartbeats and its answers carry them, so they may be a little old but
// never ahead of the truth), and whether the replica is believed up.
type ReplicaView struct {
	// Name is the replica's name, e.g. "eu-west-1".
	Name string
	// Primary is true for the replica that orders every write. It has
	// applied every acknowledged write, whatever its reported Applied says.
	Primary bool
	// Up is false when the replica missed its heartbeats or timed out.
	Up bool
	// Received is the highest log position the replica has received: on its
	// disk, but not yet visible to reads (PostgreSQL's
	// pg_last_wal_receive_lsn).
	Received uint64
	// Applied is the highest log position the replica has applied: a read
	// there sees every write up to it (pg_last_wal_replay_lsn).
	Applied uint64
	// RTT is the client's round-trip time to the replica.
	RTT time.Duration
}

// Route says where a read goes.
type Route struct {
	// Replica is the index, in the view, of the replica to read from.
	Replica int
	// Wait is how long that replica may hold the read until it has applied
	// the token; when the wait runs out it answers "not yet" and the client
	// routes again with no budget left. 0 means: answer at once.
	Wait time.Duration
}

// RouteFunc routes a read that carries a write token: token is the log
// position of the session's latest acknowledged write (0 before its first
// write), replicas the router's view, budget how much longer the read may
// wait for a replica to catch up. It is the write-token strategy's key step
// and the chapter's first exercise (solutions/session.RouteRead).
type RouteFunc func(token uint64, replicas []ReplicaView, budget time.Duration) (Route, error)

// ErrNoReplica says that no replica can serve a read: none that is up has
// applied the token and the primary is down (or the view is empty).
var ErrNoReplica = errors.New("no replica can serve the read")

// callRoute calls a RouteFunc and turns a panic into an error, so that a
// broken implementation fails the run with a sentence instead of crashing
// the notebook cell.
func callRoute(f RouteFunc, token uint64, view []ReplicaView, budget time.Duration) (r Route, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("RouteRead(token %d, %d replicas, budget %v) panicked: %v", token, len(view), budget, p)
		}
	}()
	return f(token, view, budget)
}

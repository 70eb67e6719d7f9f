// Package session holds the exercises of notebook 02-read-your-writes:
// the router that honours a write token, and the read-your-writes checker.
package session

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/session"
)

// RouteRead decides where a read that carries a write token goes. token is
// the log position of the session's latest acknowledged write, replicas
// the router's view, budget how much longer the read may wait for a
// replica to catch up. "Nearest" means the smallest RTT, the lowest index
// on ties. In order:
//
//  1. the nearest replica that is up and has applied the token (Applied >=
//     token; Received does not count, reads do not see it): read there at
//     once;
//  2. else, with budget left, the nearest replica that is up, asked to wait
//     for the token for the whole budget and no longer;
//  3. else the primary, if it is up: it has every acknowledged write,
//     whatever its reported position says;
//  4. else an error wrapping session.ErrNoReplica.
//
// A negative budget is an error. The view is not modified.
//
//dsgym:exercise session/route-read
func RouteRead(token uint64, replicas []session.ReplicaView, budget time.Duration) (session.Route, error) {
	//dsgym:solution
	if budget < 0 {
		return session.Route{}, fmt.Errorf("negative wait budget %v", budget)
	}
	best, nearest, primary := -1, -1, -1
	for i, r := range replicas {
		if !r.Up {
			continue
		}
		if r.Primary && primary < 0 {
			primary = i
		}
		if nearest < 0 || r.RTT < replicas[nearest].RTT {
			nearest = i
		}
		if r.Applied >= token && (best < 0 || r.RTT < replicas[best].RTT) {
			best = i
		}
	}
	switch {
	case best >= 0:
		return session.Route{Replica: best}, nil
	case budget > 0 && nearest >= 0:
		return session.Route{Replica: nearest, Wait: budget}, nil
	case primary >= 0:
		return session.Route{Replica: primary}, nil
	}
	return session.Route{}, fmt.Errorf("token %d: %w (%d replicas in view, none up with it applied, primary down)", token, session.ErrNoReplica, len(replicas))
	//dsgym:stub
	// panic("not implemented yet: RouteRead: send the read to the nearest up replica that has applied the token; else wait at the nearest up replica for the budget; else the primary; else ErrNoReplica")
	//dsgym:end
}

package session

import (
	"math/rand/v2"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// router is a client region's view of the replicas, fed by heartbeats and
// by the positions piggybacked on answers. The sessions of a region share
// it (think of a proxy or a client library's shared state).
type router struct {
	w         *world
	id        sim.NodeID
	region    sim.Region
	rtt       []time.Duration
	applied   []uint64
	received  []uint64
	heard     []time.Duration // when the last heartbeat arrived
	sent      []time.Duration // when that heartbeat was sent
	suspected []time.Duration // when a timeout made the replica suspect (-1: not)
	byRTT     []int           // replica indexes, nearest first (stable)
	local     []int           // replicas in this region
}

func (rt *router) handle(_ sim.NodeID, msg any) {
	hb, ok := msg.(heartbeat)
	if !ok {
		return
	}
	i := hb.replica
	rt.heard[i], rt.sent[i] = rt.w.s.Now(), hb.sent
	rt.learn(i, hb.applied, hb.received)
	if rt.suspected[i] >= 0 && hb.sent > rt.suspected[i] {
		rt.suspected[i] = -1
	}
}

func (rt *router) learn(i int, applied, received uint64) {
	rt.applied[i] = max(rt.applied[i], applied)
	rt.received[i] = max(rt.received[i], received)
}

func (rt *router) up(i int) bool {
	if rt.suspected[i] >= 0 {
		return false
	}
	return rt.w.s.Now()-rt.heard[i] <= rt.w.cfg.SuspectAfter
}

// entry is the router's view of replica i.
func (rt *router) entry(i int) ReplicaView {
	return ReplicaView{Name: rt.w.names[i], Primary: i == 0, Up: rt.up(i), Received: rt.received[i], Applied: rt.applied[i], RTT: rt.rtt[i]}
}

// balance picks a replica for a read as a region-local load balancer does:
// any replica of the region believed up, else the nearest one up; -1 when
// none is believed up.
func (rt *router) balance(rng *rand.Rand) int {
	n := 0
	for _, i := range rt.local {
		if rt.up(i) {
			n++
		}
	}
	if n > 0 {
		k := rng.IntN(n)
		for _, i := range rt.local {
			if rt.up(i) {
				if k == 0 {
					return i
				}
				k--
			}
		}
	}
	for _, i := range rt.byRTT {
		if rt.up(i) {
			return i
		}
	}
	return -1
}

package shard

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Node is a storage node in an availability zone.
type Node struct {
	ID   string
	Zone string
}

// Placement says which nodes hold each shard's replicas; the first replica
// of each shard is its leader.
type Placement struct {
	// Replicas maps a shard id to its nodes, leader first.
	Replicas map[int][]string
	zoneOf   map[string]string
}

// Place puts rf replicas of every shard on distinct nodes in distinct
// zones, so that losing a whole zone loses at most one replica of any shard.
// Each shard ranks the nodes by rendezvous hashing and takes the best node of
// each zone until it has rf, skipping nodes already holding their fair
// share (consistent hashing with bounded loads, Mirrokni et al., 2018);
// leaderships are then evened out among each shard's replicas. No node
// carries more than its share rounded up, and a node joining or leaving moves
// little more than the replicas it wins or held. It is an error to
// ask for more replicas than there are zones.
func Place(shards []int, nodes []Node, rf int) (Placement, error) {
	if err := checkIDs(shards); err != nil {
		return Placement{}, err
	}
	if rf < 1 {
		return Placement{}, fmt.Errorf("place: replication factor must be at least 1, got %d", rf)
	}
	if len(nodes) == 0 {
		return Placement{}, errors.New("place: no nodes")
	}
	zoneOf := map[string]string{}
	zones := map[string]bool{}
	for _, n := range nodes {
		switch {
		case n.ID == "":
			return Placement{}, errors.New("place: a node has an empty id")
		case n.Zone == "":
			return Placement{}, fmt.Errorf("place: node %s has no zone", n.ID)
		case zoneOf[n.ID] != "":
			return Placement{}, fmt.Errorf("place: node id %s appears twice", n.ID)
		}
		zoneOf[n.ID] = n.Zone
		zones[n.Zone] = true
	}
	if len(zones) < rf {
		return Placement{}, fmt.Errorf("place: %d replicas in distinct zones need at least %d zones, got %d", rf, rf, len(zones))
	}
	nodeSeed := make([]uint64, len(nodes))
	perZone := map[string]int{}
	for i, n := range nodes {
		nodeSeed[i] = Hash("node-" + n.ID)
		perZone[n.Zone]++
	}
	// A node's fair share: its zone holds rf/zones of all replicas, split
	// over the zone's nodes, rounded up.
	const slack = 1.0
	capOf := make([]int, len(nodes))
	leadCap := make([]int, len(nodes))
	for i, n := range nodes {
		fair := float64(len(shards)) * float64(rf) / float64(len(zones)) / float64(perZone[n.Zone])
		capOf[i] = int(math.Ceil(fair * slack))
		leadCap[i] = int(math.Ceil(fair / float64(rf) * slack))
	}
	load := make([]int, len(nodes))
	leads := make([]int, len(nodes))
	p := Placement{Replicas: make(map[int][]string, len(shards)), zoneOf: zoneOf}
	order := make([]int, len(nodes))
	score := make([]uint64, len(nodes))
	for _, s := range shards {
		h := Hash("shard-" + strconv.Itoa(s))
		for i := range nodes {
			order[i], score[i] = i, mix64(h^nodeSeed[i])
		}
		sort.Slice(order, func(a, b int) bool {
			if score[order[a]] != score[order[b]] {
				return score[order[a]] > score[order[b]]
			}
			return nodes[order[a]].ID < nodes[order[b]].ID
		})
		// Zones in the order of their best node; in each, the best node
		// under its bound (the least loaded if all are full).
		var picked []int
		used := map[string]bool{}
		for _, i := range order {
			z := nodes[i].Zone
			if used[z] {
				continue
			}
			used[z] = true
			best := -1
			for _, j := range order {
				if nodes[j].Zone != z {
					continue
				}
				if load[j] < capOf[j] {
					best = j
					break
				}
				if best < 0 || load[j] < load[best] {
					best = j
				}
			}
			picked = append(picked, best)
			if len(picked) == rf {
				break
			}
		}
		lead := -1
		for k, j := range picked {
			if leads[j] < leadCap[j] {
				lead = k
				break
			}
		}
		if lead < 0 { // every replica is at its bound: the least-leading one leads
			lead = 0
			for k, j := range picked {
				if leads[j] < leads[picked[lead]] {
					lead = k
				}
			}
		}
		picked[0], picked[lead] = picked[lead], picked[0]
		reps := make([]string, len(picked))
		for k, j := range picked {
			load[j]++
			reps[k] = nodes[j].ID
		}
		leads[picked[0]]++
		p.Replicas[s] = reps
	}
	// Even out leaderships: hand a shard's leadership to one of its other
	// replicas while that replica leads at least two fewer shards. Each
	// hand-over lowers the sum of squared leader counts, so this ends.
	idx := make(map[string]int, len(nodes))
	for i, n := range nodes {
		idx[n.ID] = i
	}
	for changed := true; changed; {
		changed = false
		for _, s := range shards {
			reps := p.Replicas[s]
			l := idx[reps[0]]
			for k := 1; k < len(reps); k++ {
				if j := idx[reps[k]]; leads[j]+1 < leads[l] {
					reps[0], reps[k] = reps[k], reps[0]
					leads[l]--
					leads[j]++
					changed = true
					break
				}
			}
		}
	}
	return p, nil
}

// Check verifies the placement: every shard has rf replicas on distinct
// nodes, no zone holds two replicas of a shard.
func (p Placement) Check(rf int) error {
	for _, s := range p.Shards() {
		reps := p.Replicas[s]
		if len(reps) != rf {
			return fmt.Errorf("place: shard %d has %d replicas, want %d", s, len(reps), rf)
		}
		zones := map[string]string{}
		for _, n := range reps {
			z, ok := p.zoneOf[n]
			if !ok {
				return fmt.Errorf("place: shard %d is on unknown node %s", s, n)
			}
			if other, dup := zones[z]; dup {
				return fmt.Errorf("place: shard %d has two replicas in zone %s (%s and %s)", s, z, other, n)
			}
			zones[z] = n
		}
	}
	return nil
}

// Shards returns the placed shard ids, sorted.
func (p Placement) Shards() []int {
	out := make([]int, 0, len(p.Replicas))
	for s := range p.Replicas {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// PerNode counts replicas and leaders per node.
func (p Placement) PerNode() (replicas, leaders map[string]int) {
	replicas, leaders = map[string]int{}, map[string]int{}
	for n := range p.zoneOf {
		replicas[n], leaders[n] = 0, 0
	}
	for _, reps := range p.Replicas {
		for i, n := range reps {
			replicas[n]++
			if i == 0 {
				leaders[n]++
			}
		}
	}
	return replicas, leaders
}

// Diff counts the replicas that are in p but not in q, shard by shard: the
// replica copies a change from p to q must make.
func (p Placement) Diff(q Placement) int {
	n := 0
	for s, reps := range q.Replicas {
		for _, r := range reps {
			if !slices.Contains(p.Replicas[s], r) {
				n++
			}
		}
	}
	return n
}

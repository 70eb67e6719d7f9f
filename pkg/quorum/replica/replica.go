// Package replica is the vocabulary shared by the replicated register of
// package quorum, the chapter's exercises and their checks: versions ordered
// last-write-wins, the replies replicas send to a quorum read, the decision a
// coordinator takes from them, and what a quorum configuration guarantees.
//
// It imports nothing of the course, so that the reference solutions in
// solutions/quorum, the register that runs them and a learner's notebook cell
// all speak the same types.
package replica

import (
	"fmt"
	"time"
)

// Version orders the writes to one key, last-write-wins: the coordinator
// that accepts a write stamps it with its clock reading, its node number and
// a per-node counter (from 1). A larger version wins. The zero Version means
// "never written" and is older than every write.
type Version struct {
	// Stamp is the coordinator's clock when it accepted the write
	// (nanoseconds of virtual time, plus that node's clock skew).
	Stamp int64
	// Node is the coordinator's number; it breaks ties between writes
	// stamped at the same instant by different nodes.
	Node int
	// Seq is the coordinator's write counter; it breaks ties between writes
	// one node stamped at the same instant.
	Seq uint64
}

// IsZero reports whether v is the zero version (no write).
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1 if v is older than o, +1 if newer, 0 if equal. Versions
// compare by Stamp, then Node, then Seq; the zero version is older than any
// other, even one whose Stamp is negative (a clock set behind).
func (v Version) Compare(o Version) int {
	switch {
	case v == o:
		return 0
	case v.IsZero():
		return -1
	case o.IsZero():
		return 1
	case v.Stamp != o.Stamp:
		return cmp(v.Stamp < o.Stamp)
	case v.Node != o.Node:
		return cmp(v.Node < o.Node)
	case v.Seq != o.Seq:
		return cmp(v.Seq < o.Seq)
	}
	return 0
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// Newer reports whether v is newer than o.
func (v Version) Newer(o Version) bool { return v.Compare(o) > 0 }

// String formats the version as "12.5ms@n2#7" ("none" for the zero version).
func (v Version) String() string {
	if v.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%v@n%d#%d", time.Duration(v.Stamp), v.Node, v.Seq)
}

// Reply is one replica's answer to a quorum read of one key.
type Reply struct {
	// Node names the replica that answered.
	Node string
	// Found is false when the replica holds no value for the key.
	Found bool
	// Value and Version are what the replica holds (zero when not found).
	Value   string
	Version Version
}

// String formats the reply as "node: value@version".
func (r Reply) String() string {
	if !r.Found {
		return r.Node + ": (none)"
	}
	return fmt.Sprintf("%s: %q@%v", r.Node, r.Value, r.Version)
}

// Resolution is a coordinator's decision about a quorum read, taken from the
// replies received so far.
type Resolution struct {
	// Done is false while the read must wait for more replies; the other
	// fields are then meaningless.
	Done bool
	// Found, Value and Version are the answer: the newest value among the
	// replies (Found false when no replica holds the key).
	Found   bool
	Value   string
	Version Version
	// Repair lists the replicas that answered with an older version (or
	// with nothing) and should be sent the answer: read repair.
	Repair []string
}

// Profile is what a quorum configuration of N replicas, R-replica reads and
// W-replica writes guarantees.
type Profile struct {
	// Strong is true when every read quorum shares at least one replica with
	// every write quorum, so that a read sees the latest acknowledged write.
	Strong bool
	// Overlap is the fewest replicas a read quorum and a write quorum can
	// share (0 when they can miss each other).
	Overlap int
	// ReadsSurvive and WritesSurvive are how many of the N replicas can be
	// down or unreachable while reads (writes) still gather their quorum.
	ReadsSurvive, WritesSurvive int
	// WritesOverlap is true when any two write quorums share a replica, so
	// two concurrent writes always meet somewhere.
	WritesOverlap bool
}

// String formats the profile on one line.
func (p Profile) String() string {
	return fmt.Sprintf("strong=%v overlap=%d reads survive %d down, writes survive %d down, write quorums overlap=%v",
		p.Strong, p.Overlap, p.ReadsSurvive, p.WritesSurvive, p.WritesOverlap)
}

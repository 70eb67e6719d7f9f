// Package quorum holds the reference solutions of the exercises of
// notebooks/01-cap-pacelc.ipynb: deciding a quorum read with read repair, and
// classifying a quorum configuration. The replicated register in pkg/quorum
// runs QuorumRead as its default read logic.
package quorum

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
)

// QuorumRead decides a quorum read from the replies received so far (in
// arrival order). r is the read quorum: until r distinct replicas have
// answered, the read is not done. A replica that answered more than once
// (the network can duplicate messages) counts once, with its newest answer.
//
// Once done, the answer is the newest value among the replies, ordered by
// Version (last write wins), and Repair lists, in the order they first
// answered, the replicas whose answer is older than it or empty: the read
// repair to send. When no replica holds the key the answer is "not found"
// and nothing needs repair.
//
// It returns an error for r < 1 and for a reply that names no replica.
//
//dsgym:exercise quorum/read-repair
func QuorumRead(r int, replies []replica.Reply) (replica.Resolution, error) {
	//dsgym:solution
	if r < 1 {
		return replica.Resolution{}, fmt.Errorf("read quorum r=%d: it must be at least 1", r)
	}
	latest := map[string]replica.Reply{}
	var order []string
	for i, rep := range replies {
		if rep.Node == "" {
			return replica.Resolution{}, fmt.Errorf("reply %d names no replica", i)
		}
		prev, seen := latest[rep.Node]
		if !seen {
			order = append(order, rep.Node)
		}
		if !seen || rep.Version.Newer(prev.Version) {
			latest[rep.Node] = rep
		}
	}
	if len(order) < r {
		return replica.Resolution{Done: false}, nil
	}
	res := replica.Resolution{Done: true}
	for _, node := range order {
		if rep := latest[node]; rep.Found && (!res.Found || rep.Version.Newer(res.Version)) {
			res.Found, res.Value, res.Version = true, rep.Value, rep.Version
		}
	}
	if !res.Found {
		return res, nil
	}
	for _, node := range order {
		if rep := latest[node]; !rep.Found || res.Version.Newer(rep.Version) {
			res.Repair = append(res.Repair, node)
		}
	}
	return res, nil
	//dsgym:stub
	// panic("not implemented yet: QuorumRead: once r distinct replicas answered, return the newest value by Version and the replicas to repair; not done before")
	//dsgym:end
}

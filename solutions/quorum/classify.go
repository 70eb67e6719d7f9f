package quorum

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
)

// Classify says what a quorum configuration guarantees: each key has N
// replicas, reads wait for R of them and writes for W. With sloppy set, an
// operation that cannot reach enough of the key's own replicas is taken by
// other nodes of the cluster instead (hinted handoff).
//
//   - Strong: every possible read quorum shares at least one replica with
//     every possible write quorum, so a read sees the latest acknowledged
//     write.
//   - Overlap: the fewest replicas a read quorum and a write quorum can
//     have in common.
//   - ReadsSurvive, WritesSurvive: how many of the key's N replicas can be
//     down or cut off while reads (writes) still gather their quorum.
//   - WritesOverlap: any two write quorums share at least one replica.
//
// It returns an error for N < 1, and for R or W outside 1..N.
//
//dsgym:exercise quorum/classify
func Classify(n, r, w int, sloppy bool) (replica.Profile, error) {
	//dsgym:solution
	switch {
	case n < 1:
		return replica.Profile{}, fmt.Errorf("N=%d replicas: there must be at least one", n)
	case r < 1 || r > n:
		return replica.Profile{}, fmt.Errorf("R=%d is outside 1..N=%d", r, n)
	case w < 1 || w > n:
		return replica.Profile{}, fmt.Errorf("W=%d is outside 1..N=%d", w, n)
	}
	p := replica.Profile{ReadsSurvive: n - r, WritesSurvive: n - w}
	if !sloppy {
		p.Overlap = max(0, r+w-n)
		p.Strong = p.Overlap > 0
		p.WritesOverlap = 2*w > n
	}
	return p, nil
	//dsgym:stub
	// panic("not implemented yet: Classify: say whether R and W quorums out of N must overlap (and by how much), and how many replicas each tolerates losing")
	//dsgym:end
}

package quorum

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
)

// Classify says what a quorum configuration guarantees: N replicas per key,
// reads that wait for R of them, writes that wait for W. With sloppy set,
// writes and reads that cannot reach enough of the key's own replicas are
// taken by other nodes (hinted handoff), so quorums no longer have to meet.
//
//   - Strong: every read quorum meets every write quorum (R + W > N), and
//     the quorums are strict.
//   - Overlap: the fewest replicas a read and a write quorum share,
//     R + W - N, never below 0; 0 for sloppy quorums.
//   - ReadsSurvive, WritesSurvive: N - R and N - W replicas of the key may
//     be down or cut off.
//   - WritesOverlap: two write quorums always meet (2W > N), strict only.
//
// It returns an error unless 1 <= R <= N and 1 <= W <= N.
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

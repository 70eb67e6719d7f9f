package twopc

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// CrashPoints returns how many effects each node performs in a
// failure-free run that commits: the coordinator sends n PREPAREs, logs its
// decision and sends it n times (2n+1); a participant logs PREPARED, votes,
// logs the decision and acknowledges it (4).
func CrashPoints(participants int) (coordinator, participant int) {
	return 2*participants + 1, 4
}

// RandomCrash draws one crash at a uniformly random protocol step of a
// uniformly random node: every (node, step) pair of a failure-free run,
// from "before its first effect" to "after its last", is equally likely.
// The downtime is uniform in [0, maxDowntime]. The label names the point
// in protocol terms (see [CrashLabel]).
func RandomCrash(rng *rand.Rand, participants []string, maxDowntime time.Duration) (Crash, string) {
	nc, np := CrashPoints(len(participants))
	total := (nc + 1) + len(participants)*(np+1)
	k := rng.IntN(total)
	down := time.Duration(rng.Int64N(int64(maxDowntime) + 1))
	if k <= nc {
		return CrashAfter(Coordinator, k, down), CrashLabel(Coordinator, k, len(participants))
	}
	k -= nc + 1
	p := participants[k/(np+1)]
	return CrashAfter(p, k%(np+1), down), CrashLabel(p, k%(np+1), len(participants))
}

// CrashLabel names the protocol point of a crash after n effects of node
// (in a failure-free run of the reference protocol with the given number
// of participants).
func CrashLabel(node string, n, participants int) string {
	if node == Coordinator {
		switch {
		case n == 0:
			return "coordinator, before PREPARE"
		case n < participants:
			return "coordinator, while sending PREPARE"
		case n == participants:
			return "coordinator, after PREPARE (before deciding)"
		case n == participants+1:
			return "coordinator, after logging COMMIT"
		case n < 2*participants+1:
			return "coordinator, while sending COMMIT"
		default:
			return "coordinator, after sending COMMIT"
		}
	}
	switch n {
	case 0:
		return "participant, before PREPARED"
	case 1:
		return "participant, after PREPARED (before voting)"
	case 2:
		return "participant, after voting YES"
	case 3:
		return "participant, after logging COMMIT"
	case 4:
		return "participant, after sending ACK"
	}
	return fmt.Sprintf("participant, after %d effects", n)
}

package txn

import "github.com/dsgym/dsgym/pkg/txn/twopc"

// Terminate is the cooperative termination rule. An in-doubt participant
// asked its peers; answers holds what each said (twopc.PeerUnknown when a
// peer did not answer). It may adopt an outcome only when a peer proves it:
//
//   - a peer that committed proves the decision was COMMIT;
//   - a peer that aborted (it voted NO, learned ABORT, or had not voted and
//     aborted when asked) proves COMMIT is impossible;
//   - peers that are prepared too, or silent, prove nothing: the
//     coordinator may have decided either way. Keep waiting (NoDecision).
//
//dsgym:exercise txn/terminate
func Terminate(answers []twopc.PeerState) twopc.Decision {
	//dsgym:solution
	decision := twopc.NoDecision
	for _, a := range answers {
		switch a {
		case twopc.PeerCommitted:
			return twopc.Commit
		case twopc.PeerAborted:
			decision = twopc.Abort
		}
	}
	return decision
	//dsgym:stub
	// panic("not implemented yet: Terminate: return Commit if a peer committed, Abort if a peer aborted, else NoDecision (keep waiting)")
	//dsgym:end
}

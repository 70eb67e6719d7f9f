package txn

import (
	"fmt"
	"sort"

	"github.com/dsgym/dsgym/pkg/txn/twopc"
)

// Phase2 is the 2PC coordinator's second phase: from the participants and
// the votes that arrived (a participant missing from votes did not answer
// in time), the effects to perform, in order.
//
// With a YES from every participant the decision is COMMIT: log it first
// (twopc.Log), then send it to every participant (twopc.Send). A COMMIT
// that leaves before its log record is durable can be lost in a crash: the
// recovered coordinator would find no record and presume ABORT while a
// participant has already committed. Otherwise the decision is ABORT; under
// presumed abort it needs no log record, and it goes to every participant
// that did not vote NO (those that voted NO have aborted already).
//
// No participants, a duplicate participant, or a vote from a node that is
// not a participant is an error.
//
//dsgym:exercise txn/phase2
func Phase2(participants []string, votes map[string]twopc.Vote) ([]twopc.Effect, error) {
	//dsgym:solution
	if len(participants) == 0 {
		return nil, fmt.Errorf("no participants")
	}
	known := make(map[string]bool, len(participants))
	for _, p := range participants {
		if known[p] {
			return nil, fmt.Errorf("participant %q appears twice", p)
		}
		known[p] = true
	}
	voters := make([]string, 0, len(votes))
	for p := range votes {
		voters = append(voters, p)
	}
	sort.Strings(voters)
	for _, p := range voters {
		if !known[p] {
			return nil, fmt.Errorf("a vote from %q, which is not a participant", p)
		}
		if v := votes[p]; v != twopc.VoteYes && v != twopc.VoteNo {
			return nil, fmt.Errorf("%q cast an invalid vote %v", p, v)
		}
	}
	commit := true
	for _, p := range participants {
		if votes[p] != twopc.VoteYes {
			commit = false
		}
	}
	if commit {
		effects := []twopc.Effect{twopc.Log(twopc.Commit)}
		for _, p := range participants {
			effects = append(effects, twopc.Send(p, twopc.Commit))
		}
		return effects, nil
	}
	var effects []twopc.Effect
	for _, p := range participants {
		if votes[p] != twopc.VoteNo {
			effects = append(effects, twopc.Send(p, twopc.Abort))
		}
	}
	return effects, nil
	//dsgym:stub
	// panic("not implemented yet: Phase2: return the effects of the decision in order: all YES means log COMMIT, then send it to everyone; otherwise send ABORT")
	//dsgym:end
}

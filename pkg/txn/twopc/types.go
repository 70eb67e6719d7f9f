// Package twopc is two-phase commit with presumed abort, run on the
// deterministic simulator of package sim: a coordinator and participants
// with durable logs, locks held by prepared participants, timeouts,
// recovery after a crash of any node at any step, and the cooperative
// termination protocol.
//
// The protocol, as this package runs it:
//
//  1. The coordinator sends PREPARE to every participant and waits for the
//     votes (at most [Config.VoteTimeout]).
//  2. A participant takes its locks, logs PREPARED durably, and only then
//     votes YES. From that moment it may no longer decide alone: it is in
//     doubt until it learns the outcome. A participant that votes NO aborts
//     at once.
//  3. With every vote YES the coordinator logs COMMIT durably, then sends
//     COMMIT; otherwise it sends ABORT (presumed abort: an abort needs no log
//     record, because "no record" already means abort).
//  4. A participant logs the decision, applies it, releases its locks and
//     acknowledges a COMMIT. Once every participant has acknowledged, the
//     coordinator forgets the transaction.
//
// Timeouts and recovery: a participant in doubt asks the coordinator after
// [Config.QueryInterval], and again with backoff; a coordinator that knows
// no decision for a transaction answers ABORT. With [Config.Cooperative], an in-doubt
// participant also asks its peers: a peer that knows the outcome, or that
// has not voted yet (it then aborts), ends the doubt; when every peer is in
// doubt too, all of them stay blocked until the coordinator returns.
//
// The three decisions the course asks learners to write are parameters, not
// code buried in the engine: [Rules] holds the participant's recovery
// decision, the coordinator's phase 2 and the cooperative termination rule.
// The reference versions live in solutions/txn; package txn (the parent)
// assembles them.
package twopc

import (
	"fmt"
	"strings"
)

// Kind is the kind of a durable log record.
type Kind uint8

// The records participants and the coordinator write to their logs.
const (
	// Prepared: a participant took its locks, did its work and promised to
	// commit if asked (it votes YES right after writing this record).
	Prepared Kind = iota + 1
	// VotedNo: a participant refused the transaction (it aborts alone).
	VotedNo
	// Committed: the decision is COMMIT (coordinator: decided; participant:
	// applied).
	Committed
	// Aborted: the decision is ABORT.
	Aborted
	// Ended: the coordinator has every acknowledgement and forgets the
	// transaction.
	Ended
)

var kindNames = [...]string{"", "PREPARED", "VOTED-NO", "COMMITTED", "ABORTED", "ENDED"}

// String returns the record's name as logs show it, e.g. "PREPARED".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return k >= Prepared && k <= Ended }

// Recovery is what a participant does for one transaction when it restarts,
// decided from its durable log alone (its memory is gone).
type Recovery uint8

// The recovery actions.
const (
	// RecoverAbort: abort the transaction (undo its work if any) and
	// release its locks.
	RecoverAbort Recovery = iota + 1
	// RecoverCommit: redo the commit and release the locks.
	RecoverCommit
	// RecoverInDoubt: take the locks again, stay prepared, and ask for the
	// outcome (the coordinator, and peers under cooperative termination).
	RecoverInDoubt
)

var recoveryNames = [...]string{"", "abort", "commit", "in doubt"}

// String names the action.
func (r Recovery) String() string {
	if int(r) < len(recoveryNames) && r != 0 {
		return recoveryNames[r]
	}
	return fmt.Sprintf("Recovery(%d)", uint8(r))
}

// Vote is a participant's answer to PREPARE.
type Vote uint8

// The votes. A participant missing from a votes map did not answer in time.
const (
	VoteYes Vote = iota + 1
	VoteNo
)

// String returns "YES" or "NO".
func (v Vote) String() string {
	switch v {
	case VoteYes:
		return "YES"
	case VoteNo:
		return "NO"
	}
	return fmt.Sprintf("Vote(%d)", uint8(v))
}

// Decision is the outcome of a transaction.
type Decision uint8

// The outcomes. NoDecision means not known (yet): a participant still in
// doubt, or a termination round that cannot decide.
const (
	NoDecision Decision = iota
	Commit
	Abort
)

// String returns "COMMIT", "ABORT" or "none".
func (d Decision) String() string {
	switch d {
	case NoDecision:
		return "none"
	case Commit:
		return "COMMIT"
	case Abort:
		return "ABORT"
	}
	return fmt.Sprintf("Decision(%d)", uint8(d))
}

// EffectKind says what an [Effect] does.
type EffectKind uint8

// The kinds of effect the coordinator's phase 2 can have.
const (
	// LogDecision appends the decision to the coordinator's durable log; the
	// next effect runs only once the record is on disk.
	LogDecision EffectKind = iota + 1
	// SendDecision sends the decision to one participant.
	SendDecision
)

// Effect is one step of the coordinator's phase 2. The engine performs the
// effects in order, and a crash can strike between any two of them.
type Effect struct {
	Kind     EffectKind
	Decision Decision
	To       string // the participant, for SendDecision
}

// Log returns the effect "write decision d to the durable log".
func Log(d Decision) Effect { return Effect{Kind: LogDecision, Decision: d} }

// Send returns the effect "send decision d to participant to".
func Send(to string, d Decision) Effect { return Effect{Kind: SendDecision, Decision: d, To: to} }

// String describes the effect, e.g. "log COMMIT" or "send COMMIT to billing".
func (e Effect) String() string {
	switch e.Kind {
	case LogDecision:
		return "log " + e.Decision.String()
	case SendDecision:
		return "send " + e.Decision.String() + " to " + e.To
	}
	return fmt.Sprintf("Effect{%d %v %q}", e.Kind, e.Decision, e.To)
}

// Effects formats a list of effects on one line.
func Effects(es []Effect) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// PeerState is what a peer answers an in-doubt participant's question
// under cooperative termination.
type PeerState uint8

// The answers. A peer that had not voted yet aborts when asked, and answers
// PeerAborted.
const (
	// PeerUnknown: no answer (the peer is down, or the message was lost).
	PeerUnknown PeerState = iota
	// PeerPrepared: the peer voted YES and is in doubt too.
	PeerPrepared
	// PeerCommitted: the peer knows the outcome is COMMIT.
	PeerCommitted
	// PeerAborted: the peer aborted (it voted NO, learned ABORT, or had not
	// voted and aborted when asked).
	PeerAborted
)

// String names the answer.
func (s PeerState) String() string {
	switch s {
	case PeerUnknown:
		return "no answer"
	case PeerPrepared:
		return "prepared"
	case PeerCommitted:
		return "committed"
	case PeerAborted:
		return "aborted"
	}
	return fmt.Sprintf("PeerState(%d)", uint8(s))
}

// RecoverFunc decides, from the durable records one participant logged for
// one transaction (oldest first), what it does on restart (exercise
// txn/recover).
type RecoverFunc = func(log []Kind) (Recovery, error)

// Phase2Func is the coordinator's phase 2 (exercise txn/phase2): from the
// participants and the votes that arrived (a participant missing from votes
// did not answer in time), the effects to perform, in order.
type Phase2Func = func(participants []string, votes map[string]Vote) ([]Effect, error)

// TerminateFunc is the cooperative termination rule (exercise
// txn/terminate): from the answers of the peers an in-doubt participant
// asked, the outcome it may adopt, or NoDecision to keep waiting.
type TerminateFunc = func(answers []PeerState) Decision

// Rules are the protocol decisions the engine delegates. All three must be
// set; txn.Rules2PC() in the parent package returns the reference ones.
type Rules struct {
	Recover   RecoverFunc
	Phase2    Phase2Func
	Terminate TerminateFunc
}

func (r Rules) validate() error {
	var missing []string
	if r.Recover == nil {
		missing = append(missing, "Recover")
	}
	if r.Phase2 == nil {
		missing = append(missing, "Phase2")
	}
	if r.Terminate == nil {
		missing = append(missing, "Terminate")
	}
	if len(missing) > 0 {
		return fmt.Errorf("Rules.%s not set (txn.Rules2PC() gives the reference rules)", strings.Join(missing, ", Rules."))
	}
	return nil
}

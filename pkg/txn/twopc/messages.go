package twopc

import (
	"fmt"
)

type msgKind uint8

const (
	msgPrepare msgKind = iota + 1
	msgVote
	msgDecision
	msgAck
	msgQuery
	msgPeerQuery
	msgPeerReply
)

type message struct {
	kind msgKind
	txn  int32
	vote Vote
	dec  Decision
	peer PeerState
}

func describe(v any) string {
	m, ok := v.(message)
	if !ok {
		return fmt.Sprint(v)
	}
	switch m.kind {
	case msgPrepare:
		return "PREPARE"
	case msgVote:
		return "vote " + m.vote.String()
	case msgDecision:
		return m.dec.String()
	case msgAck:
		return "ACK"
	case msgQuery:
		return "outcome?"
	case msgPeerQuery:
		return "peer: outcome?"
	case msgPeerReply:
		return "peer: " + m.peer.String()
	}
	return fmt.Sprint(v)
}

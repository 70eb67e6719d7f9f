package step

// InFlight is one transaction a log-based relay received from the
// replication stream and is publishing: the WAL position just past its
// end (what the slot is told once it is safe to forget it) and whether
// the broker has acknowledged every event it carried.
type InFlight struct {
	End   uint64
	Acked bool
}

// ConfirmFunc returns the position a relay may confirm to its replication
// slot. confirmed is the position confirmed so far (the slot's
// confirmed_flush_lsn; 0 before any); inflight are the transactions
// received since, in commit order, some acknowledged by the broker, some
// not (a relay publishing several at once gets the acknowledgements in
// any order). Confirming a position tells the server it may discard
// everything before it: after a crash, the relay is sent only what
// follows. So the answer is the End of the last transaction of the
// longest acknowledged prefix of inflight, or confirmed when the first
// one is not acknowledged; never lower than confirmed, and never 0 once
// something was confirmed (a zero flush position makes pglogrepl send
// the write position instead, and the server then skips what was never
// published).
type ConfirmFunc func(confirmed uint64, inflight []InFlight) uint64

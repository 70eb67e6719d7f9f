package session

import (
	"fmt"
	"slices"
	"time"
)

// Kind says whether an operation read or wrote.
type Kind uint8

// The kinds of operation.
const (
	Read Kind = iota + 1
	Write
)

// String returns "read" or "write".
func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Op is one operation of a session, as the client saw it.
//
// Versions are positions in the primary's log (log sequence numbers, LSNs):
// the primary gives every write the next position, so a higher version is a
// later write, across all keys. A write's Version is the position it was
// given; a read's Version is the position of the write whose value it
// returned, 0 when the key had never been written at the replica that
// answered.
type Op struct {
	// Session is the client session that issued the operation.
	Session int
	Kind    Kind
	Key     string
	// Version: see the type's documentation. Meaningless when Err is set.
	Version uint64
	// Start and End are the virtual times the client sent the request and
	// got the answer (or gave up).
	Start, End time.Duration
	// Replica names the replica that served the operation ("" when none
	// did, for example when it failed before being sent).
	Replica string
	// Cached is true for a read answered from the client's own
	// read-after-write cache instead of the replica's answer.
	Cached bool
	// Err says why the operation failed ("" when it succeeded). A failed
	// write may or may not have been applied: its outcome is unknown.
	Err string
}

// OK reports whether the operation succeeded.
func (o Op) OK() bool { return o.Err == "" }

// String describes the operation in one line, for tables and messages.
func (o Op) String() string {
	if !o.OK() {
		return fmt.Sprintf("s%d %s %s failed (%s) at %v", o.Session, o.Kind, o.Key, o.Err, o.End)
	}
	src := o.Replica
	if o.Cached {
		src += " (cache)"
	}
	return fmt.Sprintf("s%d %s %s v%d via %s at %v", o.Session, o.Kind, o.Key, o.Version, src, o.End)
}

// History is a run's operations in the order they completed. A session runs
// one operation at a time, so each session's operations appear in the
// order the session issued them.
type History []Op

// Validate reports the first malformed operation: an unknown kind, an empty
// key, an end before its start, or a session whose operations overlap.
func (h History) Validate() error {
	last := map[int]time.Duration{}
	for i, o := range h {
		switch {
		case o.Kind != Read && o.Kind != Write:
			return fmt.Errorf("op %d has unknown kind %d", i, o.Kind)
		case o.Key == "":
			return fmt.Errorf("op %d has no key", i)
		case o.End < o.Start:
			return fmt.Errorf("op %d ends (%v) before it starts (%v)", i, o.End, o.Start)
		}
		if prev, ok := last[o.Session]; ok && o.Start < prev {
			return fmt.Errorf("op %d of session %d starts at %v, before the session's previous op ended (%v)", i, o.Session, o.Start, prev)
		}
		last[o.Session] = o.End
	}
	return nil
}

// Guarantee names a session guarantee (Terry et al., "Session Guarantees
// for Weakly Consistent Replicated Data", 1994).
type Guarantee string

// The four session guarantees.
const (
	ReadYourWrites    Guarantee = "read-your-writes"
	MonotonicReads    Guarantee = "monotonic reads"
	MonotonicWrites   Guarantee = "monotonic writes"
	WritesFollowReads Guarantee = "writes-follow-reads"
)

// Guarantees lists the four guarantees in the order reports show them.
var Guarantees = []Guarantee{ReadYourWrites, MonotonicReads, MonotonicWrites, WritesFollowReads}

// Violation is one operation that breaks a guarantee.
type Violation struct {
	Guarantee Guarantee
	Session   int
	Key       string
	// Op is the index in the history of the offending operation.
	Op int
	// Cause is the index of the earlier operation of the same session that
	// the offending one should have respected (the write it missed, the
	// read it went back on).
	Cause int
	// Want is the lowest version the operation should have had; Got is the
	// version it had.
	Want, Got uint64
}

// String describes the violation in one sentence.
func (v Violation) String() string {
	return fmt.Sprintf("%s: session %d, op %d on %s got version %d, want >= %d (because of op %d)",
		v.Guarantee, v.Session, v.Op, v.Key, v.Got, v.Want, v.Cause)
}

// Checker finds the violations of one guarantee in a history, in history
// order. [CheckMonotonicReads], [CheckMonotonicWrites] and
// [CheckWritesFollowReads] are checkers; the read-your-writes checker is
// the chapter's exercise (solutions/session).
type Checker func(h History) []Violation

// CheckMonotonicReads flags every successful read that returns an older
// version of a key than an earlier read of the same session returned for
// that key: the session saw the value go back in time.
func CheckMonotonicReads(h History) []Violation {
	type seen struct {
		version uint64
		op      int
	}
	last := map[int]map[string]seen{}
	var out []Violation
	for i, o := range h {
		if o.Kind != Read || !o.OK() {
			continue
		}
		m := last[o.Session]
		if m == nil {
			m = map[string]seen{}
			last[o.Session] = m
		}
		if prev, ok := m[o.Key]; ok && o.Version < prev.version {
			out = append(out, Violation{Guarantee: MonotonicReads, Session: o.Session, Key: o.Key, Op: i, Cause: prev.op, Want: prev.version, Got: o.Version})
			continue
		}
		m[o.Key] = seen{o.Version, i}
	}
	return out
}

// CheckMonotonicWrites flags every successful write that the log ordered
// before an earlier acknowledged write of the same session (a lower
// version): the system applied the session's writes out of order.
//
// With one primary ordering every write, as in this package's store, this
// cannot happen; the check matters for multi-leader stores and is proven on
// hand-made histories.
func CheckMonotonicWrites(h History) []Violation {
	type seen struct {
		version uint64
		op      int
	}
	last := map[int]seen{}
	var out []Violation
	for i, o := range h {
		if o.Kind != Write || !o.OK() {
			continue
		}
		if prev, ok := last[o.Session]; ok && o.Version <= prev.version {
			out = append(out, Violation{Guarantee: MonotonicWrites, Session: o.Session, Key: o.Key, Op: i, Cause: prev.op, Want: prev.version + 1, Got: o.Version})
			continue
		}
		last[o.Session] = seen{o.Version, i}
	}
	return out
}

// CheckWritesFollowReads flags every successful write ordered before a
// write whose value the same session had already read (its version is not
// above the highest version the session read): the write does not follow
// what its author had seen.
//
// Like monotonic writes, one primary guarantees it; the check is proven on
// hand-made histories.
func CheckWritesFollowReads(h History) []Violation {
	type seen struct {
		version uint64
		op      int
	}
	read := map[int]seen{}
	var out []Violation
	for i, o := range h {
		if !o.OK() {
			continue
		}
		switch o.Kind {
		case Read:
			if o.Version > read[o.Session].version {
				read[o.Session] = seen{o.Version, i}
			}
		case Write:
			if prev, ok := read[o.Session]; ok && prev.version > 0 && o.Version <= prev.version {
				out = append(out, Violation{Guarantee: WritesFollowReads, Session: o.Session, Key: o.Key, Op: i, Cause: prev.op, Want: prev.version + 1, Got: o.Version})
			}
		}
	}
	return out
}

// Report holds the violations of every guarantee found in one history.
type Report struct {
	// Violations maps each guarantee to its violations, in history order.
	Violations map[Guarantee][]Violation
	// Reads and Writes count the successful operations checked.
	Reads, Writes int
}

// Count returns how many violations of g the report holds.
func (r Report) Count(g Guarantee) int { return len(r.Violations[g]) }

// OK reports whether no guarantee was violated.
func (r Report) OK() bool {
	for _, v := range r.Violations {
		if len(v) > 0 {
			return false
		}
	}
	return true
}

// Check runs the four session-guarantee checkers over h; ryw is the
// read-your-writes checker (the exercise's, or the reference). A checker
// that panics or reports a violation that is not in h is an error.
func Check(h History, ryw Checker) (rep Report, err error) {
	if ryw == nil {
		return Report{}, fmt.Errorf("no read-your-writes checker given: pass drill.Reference.CheckRYW or your CheckReadYourWrites")
	}
	if err := h.Validate(); err != nil {
		return Report{}, fmt.Errorf("malformed history: %w", err)
	}
	rep.Violations = map[Guarantee][]Violation{}
	for _, o := range h {
		if o.OK() && o.Kind == Read {
			rep.Reads++
		} else if o.OK() {
			rep.Writes++
		}
	}
	checkers := []struct {
		g Guarantee
		c Checker
	}{{ReadYourWrites, ryw}, {MonotonicReads, CheckMonotonicReads}, {MonotonicWrites, CheckMonotonicWrites}, {WritesFollowReads, CheckWritesFollowReads}}
	for _, c := range checkers {
		vs, err := safeCheck(c.c, slices.Clone(h)) // a checker may not reorder the caller's history
		if err != nil {
			return Report{}, fmt.Errorf("%s checker: %w", c.g, err)
		}
		for _, v := range vs {
			if v.Op < 0 || v.Op >= len(h) {
				return Report{}, fmt.Errorf("%s checker reported op %d, outside the history's %d ops", c.g, v.Op, len(h))
			}
		}
		rep.Violations[c.g] = vs
	}
	return rep, nil
}

func safeCheck(c Checker, h History) (vs []Violation, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	return c(h), nil
}

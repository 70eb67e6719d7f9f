// Package linz checks histories of a replicated key-value register: whether
// they are linearizable (with porcupine, one register per key), and how many
// reads returned a value that had already been overwritten (stale reads) and
// for how long. It also records histories from simulations and draws
// porcupine's timeline of a history inline in a notebook.
//
// A history is a list of operations, each with the virtual times of its call
// and its return. Writes must write distinct values per key (the simulations
// write "c3-17": client 3, its 17th operation), so that every read can be
// traced to the write it saw.
//
// Operations that failed need care. A read that failed returned nothing and
// is left out. A write that failed (a timeout, a refused quorum) may still
// have reached some replicas and become visible later: it is kept, with an
// unknown return ([Pending]), so that it may take effect at any point after
// its call. This is what makes the check sound for systems that refuse
// writes during a partition yet leave a partial copy behind.
package linz

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Kind is the kind of an operation.
type Kind uint8

// The kinds of operation.
const (
	Read Kind = iota + 1
	Write
)

// String names the kind: "read" or "write".
func (k Kind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Pending is the return time of an operation that never returned.
const Pending = time.Duration(math.MaxInt64)

// Op is one operation on one key.
type Op struct {
	// Client is the number of the client that issued it (from 0).
	Client int
	Kind   Kind
	Key    string
	// Value is the value written, or the value a read returned (when Found).
	Value string
	// Found is false for a read that found no value. Writes ignore it.
	Found bool
	// Call and Return are the virtual times of the call and of the answer.
	// Return is Pending for an operation that never returned.
	Call, Return time.Duration
	// Failed is true when the operation returned an error or never
	// returned: a failed read is ignored, a failed write may or may not
	// have taken effect.
	Failed bool
	// Tag is a free label (say, the workload class), shown in timelines.
	Tag string
}

// String describes the operation on one line, e.g.
// `client 1 read(x) = "a" [20ms, 30ms]`.
func (o Op) String() string {
	var s string
	switch {
	case o.Kind == Write:
		s = fmt.Sprintf("write(%s, %q)", o.Key, o.Value)
	case o.Found:
		s = fmt.Sprintf("read(%s) = %q", o.Key, o.Value)
	default:
		s = fmt.Sprintf("read(%s) = none", o.Key)
	}
	if o.Failed {
		s += " failed"
	}
	ret := "…"
	if o.Return != Pending {
		ret = o.Return.String()
	}
	return fmt.Sprintf("client %d %s [%v, %s]", o.Client, s, o.Call, ret)
}

// Note is a timed remark about the run (a partition, a heal, a crash); it
// appears in timelines.
type Note struct {
	At   time.Duration
	Text string
}

// History is a recorded run: its operations and notes.
type History struct {
	Ops   []Op
	Notes []Note
}

// Validate reports the first operation that makes no sense: an unknown
// kind, a negative call time, a return before its call, a completed
// operation without a return, a negative client.
func (h History) Validate() error {
	for i, o := range h.Ops {
		switch {
		case o.Kind != Read && o.Kind != Write:
			return fmt.Errorf("operation %d has unknown kind %d", i, o.Kind)
		case o.Client < 0:
			return fmt.Errorf("operation %d has negative client %d", i, o.Client)
		case o.Call < 0:
			return fmt.Errorf("operation %d (%v) is called at negative time %v", i, o, o.Call)
		case o.Return < o.Call:
			return fmt.Errorf("operation %d (%v) returns at %v, before its call at %v", i, o, o.Return, o.Call)
		case !o.Failed && o.Return == Pending:
			return fmt.Errorf("operation %d (%v) succeeded but never returned", i, o)
		}
	}
	return nil
}

// Keys returns the keys the history touches, sorted.
func (h History) Keys() []string {
	set := map[string]bool{}
	for _, o := range h.Ops {
		set[o.Key] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Filter returns the history restricted to the operations keep accepts
// (notes are kept).
func (h History) Filter(keep func(Op) bool) History {
	out := History{Notes: h.Notes}
	for _, o := range h.Ops {
		if keep(o) {
			out.Ops = append(out.Ops, o)
		}
	}
	return out
}

// Recorder builds a history as a simulation runs: Call when a client issues
// an operation, then Return or Fail when it completes.
type Recorder struct {
	h    History
	done []bool
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Call records that client issued an operation at time at, and returns its
// number for Return or Fail. value is the value written (ignored for reads).
func (r *Recorder) Call(client int, kind Kind, key, value string, at time.Duration) int {
	if kind == Read {
		value = ""
	}
	r.h.Ops = append(r.h.Ops, Op{Client: client, Kind: kind, Key: key, Value: value, Call: at, Return: Pending, Failed: true})
	r.done = append(r.done, false)
	return len(r.h.Ops) - 1
}

// Tag labels operation id (shown in timelines, used to group counts).
func (r *Recorder) Tag(id int, tag string) {
	if id >= 0 && id < len(r.h.Ops) {
		r.h.Ops[id].Tag = tag
	}
}

// Return records that operation id succeeded at time at; for a read, value
// and found are what it returned.
func (r *Recorder) Return(id int, value string, found bool, at time.Duration) error {
	o, err := r.open(id, at)
	if err != nil {
		return err
	}
	if o.Kind == Read {
		o.Value, o.Found = value, found
	}
	o.Return, o.Failed = at, false
	return nil
}

// Fail records that operation id returned an error at time at.
func (r *Recorder) Fail(id int, at time.Duration) error {
	o, err := r.open(id, at)
	if err != nil {
		return err
	}
	o.Failed = true
	if o.Kind == Read {
		o.Return = at
	}
	return nil
}

func (r *Recorder) open(id int, at time.Duration) (*Op, error) {
	if id < 0 || id >= len(r.h.Ops) {
		return nil, fmt.Errorf("no operation %d (recorded: %d)", id, len(r.h.Ops))
	}
	if r.done[id] {
		return nil, fmt.Errorf("operation %d (%v) already completed", id, r.h.Ops[id])
	}
	o := &r.h.Ops[id]
	if at < o.Call {
		return nil, fmt.Errorf("operation %d (%v) completes at %v, before its call", id, *o, at)
	}
	r.done[id] = true
	return o, nil
}

// Note records a remark (a partition, a heal) at time at.
func (r *Recorder) Note(at time.Duration, text string) {
	r.h.Notes = append(r.h.Notes, Note{At: at, Text: text})
}

// Len returns how many operations were recorded.
func (r *Recorder) Len() int { return len(r.h.Ops) }

// History returns the history so far (a copy). Operations still open count
// as failed with an unknown outcome.
func (r *Recorder) History() History {
	return History{Ops: append([]Op(nil), r.h.Ops...), Notes: append([]Note(nil), r.h.Notes...)}
}

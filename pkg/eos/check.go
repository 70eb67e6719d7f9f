package eos

import (
	"github.com/dsgym/dsgym/pkg/eos/history"
	"github.com/dsgym/dsgym/pkg/eos/step"
	ref "github.com/dsgym/dsgym/solutions/eos"
)

// The checker's types, from package history.
type (
	// Input is one input record: a key and its per-key sequence number.
	Input = history.Input
	// Read is one output record as a consumer saw it.
	Read = history.Read
	// History is the inputs, the aborted writers and the reads of a run.
	History = history.History
	// Report counts a history's anomalies.
	Report = history.Report
)

// Check classifies the reads of h against its inputs with the reference
// checker (solutions/eos.Check, exercise eos/check).
func Check(h History) Report { return ref.Check(h) }

// Rules are the pieces of a run a learner can replace: the transactional
// step, the idempotent sink and the checker. A nil field means the
// reference solution's.
type Rules struct {
	Txn   step.TxnFunc
	Sink  step.Sink
	Check history.CheckFunc
}

func (r Rules) txn() step.TxnFunc {
	if r.Txn == nil {
		return ref.TxnBatch
	}
	return r.Txn
}

func (r Rules) sink() step.Sink {
	s := r.Sink
	if s.Write == nil {
		s.Write = ref.WriteBatch
	}
	if s.Resume == nil {
		s.Resume = ref.ResumeOffsets
	}
	return s
}

func (r Rules) check() history.CheckFunc {
	if r.Check == nil {
		return ref.Check
	}
	return r.Check
}

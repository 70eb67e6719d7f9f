package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/eos"
	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/dsgym/dsgym/pkg/exercise"
	ref "github.com/dsgym/dsgym/solutions/eos"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnFunc is TxnBatch's signature.
type TxnFunc = step.TxnFunc

// scripted is a step.Session that answers from a script and records the
// calls it got, for the direct checks.
type scripted struct {
	produceErr error // what Produce returns
	endCommit  bool  // what End(TryCommit) reports when it succeeds
	endErr     error // what End(TryCommit) returns
	beginErr   error
	calls      []string
	produced   int
}

func (s *scripted) Begin() error { s.calls = append(s.calls, "Begin"); return s.beginErr }

func (s *scripted) Produce(_ context.Context, rs ...*kgo.Record) error {
	s.calls = append(s.calls, fmt.Sprintf("Produce(%d)", len(rs)))
	if s.produceErr == nil {
		s.produced += len(rs)
	}
	return s.produceErr
}

func (s *scripted) End(_ context.Context, try kgo.TransactionEndTry) (bool, error) {
	if try == kgo.TryAbort {
		s.calls = append(s.calls, "End(TryAbort)")
		return false, nil
	}
	s.calls = append(s.calls, "End(TryCommit)")
	if s.endErr != nil {
		return false, s.endErr
	}
	return s.endCommit, nil
}

func (s *scripted) CommitOffsets(context.Context) error {
	s.calls = append(s.calls, "CommitOffsets")
	return nil
}

func (s *scripted) trace() string { return strings.Join(s.calls, ", ") }

func (s *scripted) called(name string) bool {
	for _, c := range s.calls {
		if strings.HasPrefix(c, name) {
			return true
		}
	}
	return false
}

func batchOf(n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{Key: []byte("k"), Value: fmt.Appendf(nil, "%d", i)}
	}
	return out
}

// runScripted calls f on s with a 10-record batch, stopping a step that
// loops for ever on the same answer.
func runScripted(f TxnFunc, s *scripted) (step.Outcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return f(ctx, s, batchOf(10))
}

// txnSchedules are the crash runs of the last check.
const txnSeeds = 3

// TxnBatch is exercise eos/txn.
var TxnBatch = exercise.Register(&exercise.Exercise[TxnFunc]{
	ID:       "eos/txn",
	Title:    "The transactional step: output and offsets in one transaction",
	Task:     "Begin, produce the batch, End with TryCommit; on a failed produce abort and Retry; Retry when End did not commit; stop on a fenced producer; never commit offsets outside the transaction",
	Func:     "TxnBatch",
	Notebook: notebook,
	Hints: [3]string{
		"Three calls make the happy path: s.Begin(), s.Produce(ctx, out...), s.End(ctx, kgo.TryCommit). The offsets go with End: you never commit them yourself.",
		"Every error has one right reaction. A produce that failed dooms the transaction: End it with kgo.TryAbort and return Retry (the session rewinds, the batch comes again). End returning committed=false means the session aborted (a rebalance): Retry. A fenced producer (step.IsFenced) lost its transactional.id to a newer instance: return the error and call nothing more. Any other error from Begin or End: return it.",
		"if err := s.Begin(); err != nil { return step.Retry, err }; if err := s.Produce(ctx, out...); err != nil { if step.IsFenced(err) { return step.Retry, err }; s.End(ctx, kgo.TryAbort); return step.Retry, nil }; ok, err := s.End(ctx, kgo.TryCommit); if err != nil { return step.Retry, err }; if !ok { return step.Retry, nil }; return step.Committed, nil",
	},
	Reference: ref.TxnBatch,
	Probe:     func(f TxnFunc) { _, _ = runScripted(f, &scripted{endCommit: true}) },
	Checks: []exercise.Check[TxnFunc]{
		{Name: "a batch is produced in one transaction and committed with End(TryCommit)", Hint: 1, Run: func(t exercise.T, f TxnFunc) {
			s := &scripted{endCommit: true}
			got, err := runScripted(f, s)
			if err != nil || got != step.Committed || s.produced != 10 || len(s.calls) < 3 || s.calls[0] != "Begin" || s.calls[len(s.calls)-1] != "End(TryCommit)" {
				t.Errorf("TxnBatch on a healthy session made the calls [%s] and returned (%v, %v); want Begin, Produce of all 10 records, End(TryCommit), then (committed, nil)", s.trace(), got, err)
			}
		}},
		{Name: "offsets are never committed outside the transaction", Hint: 1, Run: func(t exercise.T, f TxnFunc) {
			for _, s := range []*scripted{{endCommit: true}, {endCommit: false}, {produceErr: kerr.NotEnoughReplicas}} {
				_, _ = runScripted(f, s)
				if s.called("CommitOffsets") {
					t.Errorf("TxnBatch called CommitOffsets ([%s]): those offsets are committed whatever the transaction does, so a crash before End loses the batch; End(TryCommit) commits them inside the transaction", s.trace())
					return
				}
			}
		}},
		{Name: "a failed produce aborts the transaction and asks for a retry", Hint: 2, Run: func(t exercise.T, f TxnFunc) {
			s := &scripted{produceErr: kerr.NotEnoughReplicas, endCommit: true}
			got, err := runScripted(f, s)
			if err != nil || got != step.Retry || !s.called("End(TryAbort)") || s.called("End(TryCommit)") {
				t.Errorf("with Produce failing (%v), TxnBatch made the calls [%s] and returned (%v, %v); want End(TryAbort), no End(TryCommit), and (retry, nil)", kerr.NotEnoughReplicas, s.trace(), got, err)
			}
		}},
		{Name: "a transaction End did not commit (a rebalance) is a retry, never committed", Hint: 2, Run: func(t exercise.T, f TxnFunc) {
			s := &scripted{endCommit: false}
			got, err := runScripted(f, s)
			if err != nil || got != step.Retry {
				t.Errorf("with End(TryCommit) reporting committed=false, TxnBatch made the calls [%s] and returned (%v, %v); want (retry, nil): the session aborted and rewound, the batch will come again", s.trace(), got, err)
			}
		}},
		{Name: "a fenced producer stops at once: an error, and no call after the fencing", Hint: 2, Run: func(t exercise.T, f TxnFunc) {
			for _, s := range []*scripted{{produceErr: kerr.ProducerFenced}, {endErr: kerr.ProducerFenced}, {endErr: kerr.InvalidProducerEpoch}} {
				_, err := runScripted(f, s)
				last := s.calls[len(s.calls)-1]
				fencedAt := "Produce"
				if s.endErr != nil {
					fencedAt = "End(TryCommit)"
				}
				if err == nil || !step.IsFenced(err) || !strings.HasPrefix(last, fencedAt) || strings.Count(s.trace(), "Begin") > 1 {
					t.Errorf("with %s answering %v, TxnBatch made the calls [%s] and returned the error %v; want to stop right there with an error that wraps it (step.IsFenced): a fenced producer never retries", fencedAt, errors.Join(s.produceErr, s.endErr), s.trace(), err)
					return
				}
			}
		}},
		{Name: "an error from Begin or End stops the instance with that error", Hint: 2, Run: func(t exercise.T, f TxnFunc) {
			for _, c := range []struct {
				s    *scripted
				want error
			}{{&scripted{beginErr: kerr.CoordinatorNotAvailable}, kerr.CoordinatorNotAvailable}, {&scripted{endErr: kerr.TransactionCoordinatorFenced}, kerr.TransactionCoordinatorFenced}} {
				_, err := runScripted(f, c.s)
				if !errors.Is(err, c.want) {
					t.Errorf("with %v, TxnBatch made the calls [%s] and returned %v; want an error wrapping %v", c.want, c.s.trace(), err, c.want)
					return
				}
			}
		}},
		{Name: fmt.Sprintf("on kfake, crashed at each of 4 points over %d seeds, read_committed consumers see every record exactly once", txnSeeds), Hint: 3, Run: func(t exercise.T, f TxnFunc) {
			crashRuns(t, eos.Transactional, eos.Rules{Txn: f})
		}},
	},
	Timeout: time.Minute,
})

// crashRuns runs mode with rules at every crash point over a few seeds on
// kfake and fails t on the first run that is not exactly-once.
func crashRuns(t exercise.T, mode eos.Mode, rules eos.Rules) {
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		t.Errorf("kfake did not start: %v", err)
		return
	}
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	for _, pt := range eos.Points {
		for seed := uint64(1); seed <= txnSeeds; seed++ {
			s := eos.Schedule{Mode: mode, Point: pt, Seed: seed, Records: 300, Rules: rules}
			v, err := eos.RunSchedule(ctx, k, s)
			if err != nil {
				t.Errorf("%v, crash %v, seed %d: the run failed: %v", mode, pt, seed, err)
				return
			}
			if !v.Committed.OK() {
				t.Errorf("%v, crash %v in batch %d, seed %d: %v (%s)", mode, pt, v.Crash.Batch, seed, v.Committed, strings.Join(v.Committed.Examples, "; "))
				return
			}
		}
	}
}

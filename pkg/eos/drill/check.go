// Package drill defines the exercises of notebooks/06-kafka-exactly-once:
// the checker of a pipeline's output (eos/check), the transactional step
// of a read-process-write loop (eos/txn) and the idempotent SQL sink
// (eos/sink). Each has direct checks of its rule on crafted inputs, and a
// check that runs seeded crash schedules on kfake with the learner's code
// in place and judges them with the reference checker (or, for the
// checker, compares its verdicts with the reference's).
package drill

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/eos"
	"github.com/dsgym/dsgym/pkg/eos/history"
	"github.com/dsgym/dsgym/pkg/exercise"
	ref "github.com/dsgym/dsgym/solutions/eos"
)

const notebook = "06-kafka-exactly-once.ipynb"

// CheckFunc is Check's signature.
type CheckFunc = history.CheckFunc

// crafted is a small history: three records of key a, one of b.
var craftedInputs = []history.Input{{Key: "a", Seq: 0}, {Key: "a", Seq: 1}, {Key: "a", Seq: 2}, {Key: "b", Seq: 0}}

func rd(part int32, off int64, key string, seq int, writer string) history.Read {
	return history.Read{Partition: part, Offset: off, Key: key, Seq: seq, Writer: writer}
}

var cleanReads = []history.Read{rd(0, 0, "a", 0, ""), rd(0, 1, "a", 1, ""), rd(1, 0, "b", 0, ""), rd(0, 2, "a", 2, "")}

// counts is a Report without its examples, for comparisons.
func counts(r history.Report) history.Report {
	r.Examples = nil
	return r
}

func wantReport(t exercise.T, what string, h history.History, got, want history.Report) bool {
	t.Helper()
	want.Inputs, want.Reads = len(h.Inputs), len(h.Reads)
	if !reflect.DeepEqual(counts(got), counts(want)) {
		t.Errorf("%s: Check returned %v; want %v", what, counts(got), counts(want))
		return false
	}
	return true
}

func craftedCheck(what string, reads []history.Read, aborted map[string]bool, want history.Report, hint int) exercise.Check[CheckFunc] {
	return exercise.Check[CheckFunc]{Name: what, Hint: hint, Run: func(t exercise.T, f CheckFunc) {
		h := history.History{Inputs: craftedInputs, Aborted: aborted, Reads: reads}
		wantReport(t, fmt.Sprintf("reads %v (aborted %v)", reads, aborted), h, f(h), want)
	}}
}

// recordedSchedules are the crash schedules whose histories the last
// check replays: each mode's telling crash points, two seeds each.
var recordedSchedules = func() []eos.Schedule {
	var out []eos.Schedule
	for _, c := range []struct {
		m  eos.Mode
		pt eos.Point
	}{{eos.AtMostOnce, eos.MidOutput}, {eos.AtLeastOnce, eos.BeforeCommit}, {eos.IdempotentProducer, eos.MidOutput}, {eos.Transactional, eos.MidOutput}} {
		for _, seed := range []uint64{1, 2} {
			out = append(out, eos.Schedule{Mode: c.m, Point: c.pt, Seed: seed, Records: 300})
		}
	}
	return out
}()

// Check is exercise eos/check.
var Check = exercise.Register(&exercise.Exercise[CheckFunc]{
	ID:       "eos/check",
	Title:    "A checker for duplicates, losses and aborted reads",
	Task:     "from what went in and what a consumer read, count lost, duplicated, aborted, non-monotonic, reordered and unexpected reads",
	Func:     "Check",
	Notebook: notebook,
	Hints: [3]string{
		"Walk the reads once, in order, keeping what you have seen: per (key, seq) how often, per partition the last offset, per key the highest seq. Then walk the inputs once for what was never read.",
		"Each anomaly is a question about one read: is its writer aborted? is its offset not above the last one in its partition? did its (key, seq) go in at all? was it read before? is its seq below the highest seen for its key? A duplicate is only a duplicate (not also reordered); an aborted read is counted whatever else it is.",
		"seen := map[history.Input]int{}; for each read: nonmonotonic check and update; aborted check; if not an input: Unexpected++, continue; seen[in]++; if seen[in] > 1: Duplicated++, continue; if seq < highest[key]: Reordered++; update highest. Then Lost = inputs with seen == 0.",
	},
	Reference: ref.Check,
	Probe:     func(f CheckFunc) { _ = f(history.History{}) },
	Checks: []exercise.Check[CheckFunc]{
		craftedCheck("a clean history is exactly-once: every count 0", cleanReads, nil, history.Report{}, 1),
		craftedCheck("an input never read is lost (at-most-once)",
			[]history.Read{rd(0, 0, "a", 0, ""), rd(1, 0, "b", 0, ""), rd(0, 1, "a", 2, "")}, nil, history.Report{Lost: 1}, 1),
		craftedCheck("a reprocessed batch counts as duplicates, not as reordering (at-least-once)",
			append(append([]history.Read{}, cleanReads...), rd(0, 3, "a", 1, ""), rd(0, 4, "a", 2, "")), nil, history.Report{Duplicated: 2}, 2),
		craftedCheck("a record written by an aborted transaction is an aborted read, even when it is also a duplicate",
			[]history.Read{rd(0, 0, "a", 0, "w1/t1"), rd(0, 1, "a", 1, "w1/t1"), rd(1, 0, "b", 0, "w2/t1"), rd(0, 3, "a", 2, "w2/t1"), rd(0, 4, "a", 1, "w2/t1")},
			map[string]bool{"w1/t1": true}, history.Report{AbortedReads: 2, Duplicated: 1}, 2),
		craftedCheck("an offset that does not grow within a partition is non-monotonic",
			[]history.Read{rd(0, 1, "a", 0, ""), rd(0, 0, "a", 1, ""), rd(1, 0, "b", 0, ""), rd(0, 2, "a", 2, "")}, nil, history.Report{NonMonotonic: 1}, 2),
		craftedCheck("a lower seq read for the first time after a higher one of its key is reordered",
			[]history.Read{rd(0, 0, "a", 1, ""), rd(0, 1, "a", 0, ""), rd(1, 0, "b", 0, ""), rd(0, 2, "a", 2, "")}, nil, history.Report{Reordered: 1}, 2),
		craftedCheck("a read of a key and seq that never went in is unexpected, and nothing else",
			append(append([]history.Read{}, cleanReads...), rd(1, 1, "b", 9, ""), rd(1, 2, "c", 0, "")), nil, history.Report{Unexpected: 2}, 2),
		craftedCheck("the same seq under another key is not a duplicate",
			[]history.Read{rd(0, 0, "a", 0, ""), rd(0, 1, "a", 1, ""), rd(0, 2, "a", 2, ""), rd(1, 0, "b", 0, "")}, nil, history.Report{}, 3),
		{Name: fmt.Sprintf("on %d recorded crash runs (both isolation levels), every count agrees with the reference checker", len(recordedSchedules)), Hint: 3, Run: func(t exercise.T, f CheckFunc) {
			hs, err := recordedHistories()
			if err != nil {
				t.Errorf("could not record the runs on kfake: %v", err)
				return
			}
			for _, h := range hs {
				if !wantReport(t, h.name, h.h, f(h.h), counts(ref.Check(h.h))) {
					return
				}
			}
		}},
	},
	Timeout: time.Minute,
})

type namedHistory struct {
	name string
	h    history.History
}

// recorded caches the recorded histories: they do not depend on the
// checker under test.
var (
	recordMu sync.Mutex
	recorded []namedHistory
)

func recordedHistories() ([]namedHistory, error) {
	recordMu.Lock()
	defer recordMu.Unlock()
	if recorded != nil {
		return recorded, nil
	}
	k, err := engines.Kafka(context.Background(), engines.Embedded())
	if err != nil {
		return nil, err
	}
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var out []namedHistory
	for _, s := range recordedSchedules {
		v, err := eos.RunSchedule(ctx, k, s)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%v, crash %v in batch %d, seed %d", s.Mode, s.Point, v.Crash.Batch, s.Seed)
		out = append(out, namedHistory{name + ", read_committed", v.CommittedHistory}, namedHistory{name + ", read_uncommitted", v.UncommittedHistory})
	}
	recorded = out
	return out, nil
}

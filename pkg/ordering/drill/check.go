// Package drill defines the exercises of notebooks/08-kafka-ordering: the
// per-key order checker (ordering/check), the resequencer
// (ordering/reseq) and the partition-count calculator
// (ordering/partitions). Each check states one property on a crafted
// input; the checker's last check compares its verdicts with the
// reference's on seeded shuffles of a real workload.
package drill

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/ordering"
	"github.com/dsgym/dsgym/pkg/ordering/history"
	ref "github.com/dsgym/dsgym/solutions/ordering"
)

const notebook = "08-kafka-ordering.ipynb"

// CheckFunc is Check's signature.
type CheckFunc = history.CheckFunc

func ev(key string, seq int) history.Event { return history.Event{Key: key, Seq: seq} }

// dl is a delivery by consumer 0 from partition p at offset off.
func dl(p int32, off int64, key string, seq int) history.Delivery {
	return history.Delivery{Event: ev(key, seq), Partition: p, Offset: off}
}

var craftedSent = []history.Event{ev("a", 0), ev("a", 1), ev("a", 2), ev("b", 0)}

var cleanGot = []history.Delivery{dl(0, 0, "a", 0), dl(0, 1, "a", 1), dl(1, 0, "b", 0), dl(0, 2, "a", 2)}

func counts(r history.Report) history.Report {
	r.Examples = nil
	return r
}

func wantReport(t exercise.T, what string, h history.History, got, want history.Report) bool {
	t.Helper()
	want.Sent, want.Delivered = len(h.Sent), len(h.Got)
	if !reflect.DeepEqual(counts(got), counts(want)) {
		t.Errorf("%s: Check returned %+v; want %+v", what, counts(got), counts(want))
		return false
	}
	return true
}

func crafted(name string, got []history.Delivery, want history.Report, hint int) exercise.Check[CheckFunc] {
	return exercise.Check[CheckFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f CheckFunc) {
		h := history.History{Sent: craftedSent, Got: got}
		wantReport(t, fmt.Sprintf("deliveries %v", got), h, f(h), want)
	}}
}

// shuffled is a seeded history of a real workload whose deliveries were
// disturbed: some swapped, some repeated, some dropped.
func shuffled(seed uint64) history.History {
	evs, err := ordering.Workload{Users: 30, Events: 3000, HotUsers: 1, HotShare: 0.2, Seed: seed}.Generate()
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(seed, 80))
	var got []history.Delivery
	offsets := map[int32]int64{}
	for _, e := range evs {
		p, _ := ordering.Partition([]byte(e.Key), 6)
		d := history.Delivery{Event: e, Partition: int32(p), Offset: offsets[int32(p)]}
		offsets[int32(p)]++
		switch x := r.Float64(); {
		case x < 0.01: // dropped
			continue
		case x < 0.02: // delivered twice
			got = append(got, d, d)
			continue
		}
		got = append(got, d)
	}
	for range 30 { // swapped neighbours
		i := r.IntN(len(got) - 1)
		got[i], got[i+1] = got[i+1], got[i]
	}
	return history.History{Sent: evs, Got: got}
}

// Check is exercise ordering/check.
var Check = exercise.Register(&exercise.Exercise[CheckFunc]{
	ID:       "ordering/check",
	Title:    "A per-key order checker",
	Task:     "from what producers sent and what consumers delivered, count lost, duplicated, out-of-order, gap, non-monotonic and unexpected deliveries",
	Func:     "Check",
	Notebook: notebook,
	Hints: [3]string{
		"Walk the deliveries once, in order, keeping per key the highest seq delivered so far, per (consumer, partition) the last offset, and per event how often it was delivered. Then walk what was sent for what was never delivered.",
		"Every anomaly is a question about one delivery: is its offset not above the last of its consumer and partition? was it ever sent? was it delivered before? is its seq below the key's highest (out of order) or more than one above it (a gap: the first seq is 0)? A duplicate is only a duplicate.",
		"highest := map[string]int{} (missing means -1); for each delivery: offset check; if !sent[e] {Unexpected++; continue}; seen[e]++; if seen[e] > 1 {Duplicated++; continue}; if seq < hi {OutOfOrder++} else if seq > hi+1 {Gaps++}; if seq > hi {highest = seq}. Lost = sent with seen 0.",
	},
	Reference: ref.Check,
	Probe:     func(f CheckFunc) { _ = f(history.History{}) },
	Checks: []exercise.Check[CheckFunc]{
		crafted("deliveries in order, once each, have no anomaly", cleanGot, history.Report{}, 1),
		crafted("an event never delivered is lost", []history.Delivery{dl(0, 0, "a", 0), dl(1, 0, "b", 0), dl(0, 1, "a", 1)}, history.Report{Lost: 1}, 1),
		crafted("a delivery that skips a seq is a gap, and the skipped event, if it never comes, is lost",
			[]history.Delivery{dl(0, 0, "a", 0), dl(0, 1, "a", 2), dl(1, 0, "b", 0)}, history.Report{Gaps: 1, Lost: 1}, 2),
		crafted("a key's first event delivered after a later one is a gap for the later and out of order for itself",
			[]history.Delivery{dl(0, 0, "a", 1), dl(0, 1, "a", 0), dl(1, 0, "b", 0), dl(0, 2, "a", 2)}, history.Report{Gaps: 1, OutOfOrder: 1}, 2),
		crafted("a redelivery is a duplicate and nothing else",
			append(append([]history.Delivery{}, cleanGot...), dl(0, 3, "a", 1)), history.Report{Duplicated: 1}, 2),
		crafted("an offset that does not grow for a consumer and partition is non-monotonic",
			[]history.Delivery{dl(0, 1, "a", 0), dl(0, 0, "a", 1), dl(1, 0, "b", 0), dl(0, 2, "a", 2)}, history.Report{NonMonotonic: 1}, 2),
		crafted("two consumers reading one partition (after a rebalance) are two streams",
			[]history.Delivery{dl(0, 0, "a", 0), dl(0, 1, "a", 1), {Event: ev("a", 2), Consumer: 1, Partition: 0, Offset: 0}, dl(1, 0, "b", 0)}, history.Report{}, 3),
		crafted("an event never sent is unexpected, and nothing else",
			append(append([]history.Delivery{}, cleanGot...), dl(1, 1, "b", 7), dl(2, 0, "c", 0)), history.Report{Unexpected: 2}, 2),
		crafted("the same seq under another key is not a duplicate",
			[]history.Delivery{dl(0, 0, "a", 0), dl(1, 0, "b", 0), dl(0, 1, "a", 1), dl(0, 2, "a", 2)}, history.Report{}, 3),
		{Name: "on 4 disturbed runs of a 3,000-event workload, every count agrees with the reference checker", Hint: 3, Run: func(t exercise.T, f CheckFunc) {
			for seed := uint64(1); seed <= 4; seed++ {
				h := shuffled(seed)
				if !wantReport(t, fmt.Sprintf("disturbed run, seed %d", seed), h, f(h), counts(ref.Check(h))) {
					return
				}
			}
		}},
	},
	Timeout: 20 * time.Second,
})

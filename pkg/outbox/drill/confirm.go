package drill

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	ref "github.com/dsgym/dsgym/solutions/outbox"
)

// ConfirmFunc is Confirm's signature.
type ConfirmFunc = step.ConfirmFunc

func fl(end uint64, acked bool) step.InFlight { return step.InFlight{End: end, Acked: acked} }

func confirmCase(name string, hint int, confirmed uint64, in []step.InFlight, want uint64) exercise.Check[ConfirmFunc] {
	return exercise.Check[ConfirmFunc]{Name: name, Hint: hint, Run: func(t exercise.T, f ConfirmFunc) {
		if got := f(confirmed, in); got != want {
			t.Errorf("Confirm(%d, %v) = %d; want %d", confirmed, in, got, want)
		}
	}}
}

// relaySim is a relay's life against a replication slot, in the model:
// transactions 1..n end at positions 100, 200...; the relay receives them
// in order, up to window at a time in flight, the broker acknowledges
// them in random order, and the relay may crash; after a crash it is sent
// everything after the confirmed position again. It reports the
// transactions never published (lost) under f.
func relaySim(f ConfirmFunc, seed uint64) (lost []int, err error) {
	r := rand.New(rand.NewPCG(seed, 90))
	const n, window = 40, 5
	published := make([]bool, n+1)
	confirmed := uint64(0)
	for lives := 0; lives < 20; lives++ {
		next := int(confirmed/100) + 1 // the slot resends after confirmed
		var inflight []step.InFlight
		crashed := false
		for !crashed && (next <= n || len(inflight) > 0) {
			switch x := r.Float64(); {
			case x < 0.05 && lives < 6:
				crashed = true // acks not yet received are lost with the process
			case x < 0.45 && next <= n && len(inflight) < window:
				inflight = append(inflight, fl(uint64(next)*100, false))
				next++
			case x < 0.8 && len(inflight) > 0:
				i := r.IntN(len(inflight))
				if !inflight[i].Acked {
					inflight[i].Acked = true
					published[inflight[i].End/100] = true
				}
			default:
				pos := f(confirmed, append([]step.InFlight(nil), inflight...))
				if pos < confirmed {
					return nil, fmt.Errorf("seed %d: Confirm went back from %d to %d", seed, confirmed, pos)
				}
				confirmed = pos
				for len(inflight) > 0 && inflight[0].End <= confirmed && inflight[0].Acked {
					inflight = inflight[1:]
				}
			}
		}
		if !crashed {
			break
		}
	}
	for i := 1; i <= n; i++ {
		if !published[i] {
			lost = append(lost, i)
		}
	}
	return lost, nil
}

// Confirm is exercise outbox/confirm.
var Confirm = exercise.Register(&exercise.Exercise[ConfirmFunc]{
	ID:       "outbox/confirm",
	Title:    "The relay's confirm-after-ack position",
	Task:     "from the confirmed position and the transactions in flight, return the position a log-based relay may confirm to its replication slot",
	Func:     "Confirm",
	Notebook: notebook,
	Hints: [3]string{
		"Confirming a position tells PostgreSQL it may forget everything before it: after a crash, only what follows is sent again. So confirm only past transactions whose every event the broker has acknowledged, and only when all those before them are too.",
		"Walk inflight in order (it is commit order) and stop at the first transaction not acknowledged. The answer is the End of the last acknowledged one before it. Nothing new acknowledged: return confirmed, never 0 and never the server's WAL end.",
		"pos := confirmed; for _, t := range inflight { if !t.Acked { break }; pos = max(pos, t.End) }; return pos.",
	},
	Reference: ref.Confirm,
	Probe:     func(f ConfirmFunc) { _ = f(0, nil) },
	Checks: []exercise.Check[ConfirmFunc]{
		confirmCase("with nothing in flight, the confirmed position stays", 1, 500, nil, 500),
		confirmCase("every transaction acknowledged: confirm the end of the last", 1, 100, []step.InFlight{fl(200, true), fl(300, true)}, 300),
		confirmCase("the first one not acknowledged: confirm nothing new, however many after it are", 2, 100, []step.InFlight{fl(200, false), fl(300, true), fl(400, true)}, 100),
		confirmCase("stop at the first transaction not acknowledged", 2, 100, []step.InFlight{fl(200, true), fl(300, false), fl(400, true)}, 200),
		confirmCase("nothing acknowledged yet, nothing confirmed yet: 0, confirm nothing", 2, 0, []step.InFlight{fl(200, false)}, 0),
		confirmCase("never go back, even for an acknowledged transaction that ends before the confirmed position", 3, 500, []step.InFlight{fl(300, true)}, 500),
		{Name: "200 seeded relays that crash up to 6 times each lose no transaction", Hint: 3, Run: func(t exercise.T, f ConfirmFunc) {
			for seed := uint64(1); seed <= 200; seed++ {
				lost, err := relaySim(f, seed)
				if err != nil {
					t.Errorf("%v", err)
					return
				}
				if len(lost) > 0 {
					t.Errorf("seed %d: transactions %v were never published: a crash came after their position was confirmed and before the broker acknowledged them", seed, lost)
					return
				}
			}
		}},
	},
	Timeout: 10 * time.Second,
})

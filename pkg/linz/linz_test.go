package linz

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const ms = time.Millisecond

func w(client int, key, value string, call, ret time.Duration) Op {
	return Op{Client: client, Kind: Write, Key: key, Value: value, Call: call * ms, Return: ret * ms}
}

func r(client int, key, value string, call, ret time.Duration) Op {
	return Op{Client: client, Kind: Read, Key: key, Value: value, Found: value != "", Call: call * ms, Return: ret * ms}
}

func failedWrite(client int, key, value string, call time.Duration) Op {
	return Op{Client: client, Kind: Write, Key: key, Value: value, Call: call * ms, Return: Pending, Failed: true}
}

func TestCheckVerdicts(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		want Verdict
	}{
		{"a read after a write sees it", []Op{w(0, "x", "a", 0, 10), r(1, "x", "a", 20, 30)}, Linearizable},
		{"a read of a key never written finds nothing", []Op{r(0, "x", "", 0, 10)}, Linearizable},
		{"a read concurrent with a write may see the old value", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 50), r(1, "x", "a", 25, 30)}, Linearizable},
		{"a read concurrent with a write may see the new value", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 50), r(1, "x", "b", 25, 30)}, Linearizable},
		{"a failed write may take effect later", []Op{w(0, "x", "a", 0, 10), failedWrite(0, "x", "b", 20), r(1, "x", "b", 100, 110)}, Linearizable},
		{"a failed write may never take effect", []Op{w(0, "x", "a", 0, 10), failedWrite(0, "x", "b", 20), r(1, "x", "a", 100, 110)}, Linearizable},
		{"keys are independent registers", []Op{w(0, "x", "a", 0, 10), w(1, "y", "b", 0, 10), r(2, "x", "a", 20, 30), r(2, "y", "b", 40, 50)}, Linearizable},
		{"a failed read is ignored", []Op{w(0, "x", "a", 0, 10), {Client: 1, Kind: Read, Key: "x", Value: "zzz", Found: true, Call: 20 * ms, Return: 30 * ms, Failed: true}}, Linearizable},
		{"a read after a completed write must not see the old value", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), r(1, "x", "a", 40, 50)}, NotLinearizable},
		{"a read after a completed write must find a value", []Op{w(0, "x", "a", 0, 10), r(1, "x", "", 20, 30)}, NotLinearizable},
		{"a value nobody wrote is a violation", []Op{w(0, "x", "a", 0, 10), r(1, "x", "q", 20, 30)}, NotLinearizable},
		{"new then old across two reads is a violation", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 100), r(1, "x", "b", 30, 40), r(2, "x", "a", 50, 60)}, NotLinearizable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(History{Ops: tt.ops}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.want {
				t.Errorf("Check = %v, want %v", res, tt.want)
			}
			if tt.want == NotLinearizable && (len(res.IllegalKeys) != 1 || res.IllegalKeys[0] != "x") {
				t.Errorf("IllegalKeys = %v, want [x]", res.IllegalKeys)
			}
		})
	}
}

func TestTheModelIsOnlyValidWithItsPartition(t *testing.T) {
	// engines.md's pitfall: one register for the whole store rejects a
	// correct history that interleaves two keys.
	h := History{Ops: []Op{w(0, "x", "a", 0, 10), w(1, "y", "b", 20, 30), r(2, "x", "a", 40, 50)}}
	ops, err := Operations(h)
	if err != nil {
		t.Fatal(err)
	}
	whole := Model()
	whole.Partition = nil
	if porcupine.CheckOperations(whole, ops) {
		t.Fatal("without Partition the model should reject this correct history; the test no longer shows the pitfall")
	}
	if !porcupine.CheckOperations(Model(), ops) {
		t.Error("with Partition the correct history was rejected")
	}
}

func TestBadHistoriesAreErrorsNotPanics(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		want string
	}{
		{"a return before the call", Op{Kind: Read, Key: "x", Call: 10, Return: 5}, "before its call"},
		{"an unknown kind", Op{Kind: 9, Key: "x", Call: 0, Return: 5}, "unknown kind"},
		{"a negative call time", Op{Kind: Read, Key: "x", Call: -1, Return: 5}, "negative time"},
		{"a success that never returned", Op{Kind: Write, Key: "x", Value: "a", Call: 0, Return: Pending}, "never returned"},
		{"a negative client", Op{Client: -2, Kind: Read, Key: "x", Call: 0, Return: 5}, "negative client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := History{Ops: []Op{tt.op}}
			if _, err := Check(h, time.Second); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: error %v, want one mentioning %q", err, tt.want)
			}
			if _, err := Stale(h); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Stale: error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStaleReads(t *testing.T) {
	tests := []struct {
		name        string
		ops         []Op
		stale       []int
		ages        []time.Duration
		unexplained int
	}{
		{"a read of the latest value is fresh", []Op{w(0, "x", "a", 0, 10), r(1, "x", "a", 20, 30)}, nil, nil, 0},
		{"a read of an overwritten value is stale", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), r(1, "x", "a", 45, 50)}, []int{2}, []time.Duration{15 * ms}, 0},
		{"a read concurrent with the overwrite is not stale", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), r(1, "x", "a", 25, 50)}, nil, nil, 0},
		{"overlapping writes do not make each other stale", []Op{w(0, "x", "a", 0, 30), w(1, "x", "b", 20, 40), r(2, "x", "a", 50, 60)}, nil, nil, 0},
		{"finding nothing after an acknowledged write is stale", []Op{w(0, "x", "a", 0, 10), r(1, "x", "", 30, 40)}, []int{1}, []time.Duration{20 * ms}, 0},
		{"finding nothing before any write is fresh", []Op{r(1, "x", "", 0, 5), w(0, "x", "a", 10, 20)}, nil, nil, 0},
		{"the age counts from the first overwrite acknowledged", []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), w(0, "x", "c", 40, 50), r(1, "x", "a", 100, 110)}, []int{3}, []time.Duration{70 * ms}, 0},
		{"a value no write wrote is unexplained", []Op{w(0, "x", "a", 0, 10), r(1, "x", "q", 20, 30)}, nil, nil, 1},
		{"a value written after the read returned is unexplained", []Op{r(1, "x", "a", 0, 10), w(0, "x", "a", 20, 30)}, nil, nil, 1},
		{"a value from a failed write is never stale", []Op{failedWrite(0, "x", "a", 0), w(0, "x", "b", 20, 30), r(1, "x", "a", 45, 50)}, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Stale(History{Ops: tt.ops})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.StaleOps) != len(tt.stale) || s.Stale != len(tt.stale) {
				t.Fatalf("stale ops %v, want %v", s.StaleOps, tt.stale)
			}
			for i := range tt.stale {
				if s.StaleOps[i] != tt.stale[i] || s.Ages[i] != tt.ages[i] {
					t.Errorf("stale op %d age %v, want op %d age %v", s.StaleOps[i], s.Ages[i], tt.stale[i], tt.ages[i])
				}
			}
			if s.Unexplained != tt.unexplained {
				t.Errorf("unexplained %d, want %d", s.Unexplained, tt.unexplained)
			}
		})
	}
}

func TestEveryStaleReadIsALinearizabilityViolation(t *testing.T) {
	// A stale read is a special case of a violation: whenever Stale counts
	// one, Check must reject the history.
	hs := []History{
		{Ops: []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), r(1, "x", "a", 45, 50)}},
		{Ops: []Op{w(0, "x", "a", 0, 10), r(1, "x", "", 30, 40)}},
	}
	for _, h := range hs {
		s, _ := Stale(h)
		res, _ := Check(h, time.Second)
		if s.Stale == 0 || res.OK() {
			t.Errorf("history %v: %v, %v; want a stale read and a violation", h.Ops, s, res)
		}
	}
}

func TestStaleNeedsDistinctValues(t *testing.T) {
	_, err := Stale(History{Ops: []Op{w(0, "x", "a", 0, 10), w(1, "x", "a", 20, 30)}})
	if err == nil || !strings.Contains(err.Error(), "distinct") {
		t.Errorf("two writes of one value: error %v, want one saying values must be distinct", err)
	}
}

func TestRecorder(t *testing.T) {
	rec := NewRecorder()
	a := rec.Call(0, Write, "x", "a", 0)
	b := rec.Call(1, Read, "x", "ignored", 5*ms)
	c := rec.Call(2, Write, "x", "b", 6*ms)
	d := rec.Call(2, Read, "x", "", 7*ms)
	rec.Tag(b, "dashboard")
	if err := rec.Return(a, "", false, 10*ms); err != nil {
		t.Fatal(err)
	}
	if err := rec.Return(b, "a", true, 12*ms); err != nil {
		t.Fatal(err)
	}
	if err := rec.Fail(d, 9*ms); err != nil {
		t.Fatal(err)
	}
	rec.Note(3*ms, "partition")
	t.Run("completing twice is an error", func(t *testing.T) {
		if err := rec.Return(a, "", false, 20*ms); err == nil {
			t.Error("no error")
		}
	})
	t.Run("an unknown operation is an error", func(t *testing.T) {
		if err := rec.Fail(99, 20*ms); err == nil {
			t.Error("no error")
		}
	})
	t.Run("completing before the call is an error", func(t *testing.T) {
		e := rec.Call(3, Read, "x", "", 50*ms)
		if err := rec.Return(e, "", false, 40*ms); err == nil {
			t.Error("no error")
		}
	})
	h := rec.History()
	t.Run("reads record what they returned, not what was passed at the call", func(t *testing.T) {
		if o := h.Ops[b]; o.Value != "a" || !o.Found || o.Tag != "dashboard" || o.Failed {
			t.Errorf("read = %+v", o)
		}
	})
	t.Run("an operation never completed counts as failed with an unknown return", func(t *testing.T) {
		if o := h.Ops[c]; !o.Failed || o.Return != Pending {
			t.Errorf("open write = %+v", o)
		}
	})
	t.Run("a failed read keeps its return time", func(t *testing.T) {
		if o := h.Ops[d]; !o.Failed || o.Return != 9*ms {
			t.Errorf("failed read = %+v", o)
		}
	})
	if len(h.Notes) != 1 || h.Notes[0].Text != "partition" {
		t.Errorf("notes = %v", h.Notes)
	}
}

func TestTimeline(t *testing.T) {
	h := History{Ops: []Op{w(0, "x", "a", 0, 10), w(0, "x", "b", 20, 30), r(1, "x", "a", 40, 50), w(2, "y", "c", 0, 5)},
		Notes: []Note{{At: 15 * ms, Text: "partition"}}}
	res, err := Check(h, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	page, err := res.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", "get x → a", "put x=b", "partition"} {
		if !strings.Contains(page, want) {
			t.Errorf("the timeline does not contain %q", want)
		}
	}
	if strings.Contains(page, "put y=c") {
		t.Error("the timeline should show only the key at fault")
	}
	if _, err := (Result{}).Timeline(); err == nil {
		t.Error("a timeline of no check should be an error")
	}
}

func TestTimelineCutsLongHistoriesNearTheViolation(t *testing.T) {
	var ops []Op
	at := time.Duration(0)
	for i := range 200 {
		v := string(rune('A'+i%26)) + strings.Repeat("x", i/26)
		ops = append(ops, w(0, "k", v, at, at+5))
		at += 10
		if i == 150 { // a stale read late in the history
			ops = append(ops, r(1, "k", "A", at, at+5))
			at += 10
		}
	}
	res, err := Check(History{Ops: ops}, 5*time.Second)
	if err != nil || res.OK() {
		t.Fatalf("Check = %v, %v; want a violation", res, err)
	}
	page, err := res.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "get k → A") || !strings.Contains(page, "put k=Vxxxxx") {
		t.Error("the timeline should reach the stale read")
	}
	if strings.Contains(page, "put k=Axxxxxx") {
		t.Error("the timeline should stop a few operations after the stale read")
	}
}

func TestTimelineReachesTheRealViolation(t *testing.T) {
	// The read of b is called before the write of b: a prefix that cut the
	// write off would look illegal. The real violation is the later read
	// of a, after c was acknowledged.
	ops := []Op{w(0, "k", "a", 0, 10), w(2, "k", "z", 12, 15), r(1, "k", "b", 20, 40), w(0, "k", "b", 30, 50)}
	at := time.Duration(60)
	for i := range 8 {
		ops = append(ops, w(0, "k", fmt.Sprint("p", i), at, at+5))
		at += 10
	}
	ops = append(ops, w(0, "k", "c", at, at+5), r(1, "k", "a", at+10, at+15))
	at += 20
	for i := range 8 {
		ops = append(ops, w(0, "k", fmt.Sprint("q", i), at, at+5))
		at += 10
	}
	h := History{Ops: ops}
	res, err := Check(h, time.Second)
	if err != nil || res.OK() {
		t.Fatalf("Check = %v, %v; want a violation", res, err)
	}
	page, err := res.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "put k=c") || !strings.Contains(page, "get k → a") {
		t.Error("the timeline stops before the real violation")
	}
}

func TestEveryCutOfALinearizableHistoryIsLinearizable(t *testing.T) {
	// The read of b is called before the write of b: cutting right after
	// the read would leave a value nobody wrote, unless the cut drops it.
	h := History{Ops: []Op{w(0, "k", "a", 0, 10), r(1, "k", "b", 20, 40), w(0, "k", "b", 30, 50), r(2, "k", "b", 60, 70)}}
	ops, err := Operations(h)
	if err != nil {
		t.Fatal(err)
	}
	if !porcupine.CheckOperations(Model(), ops) {
		t.Fatal("the history should be linearizable")
	}
	for n := 1; n <= len(ops); n++ {
		if !porcupine.CheckOperations(Model(), cut(ops, n)) {
			t.Errorf("the cut after %d operations is not linearizable", n)
		}
	}
}

func TestLeavingOutUnreadFailedWritesNeverChangesTheVerdict(t *testing.T) {
	// Random small histories on one key: writes that succeed or fail, reads
	// of random written values (or nothing). Pruned and unpruned, porcupine
	// must agree on every one.
	rng := rand.New(rand.NewPCG(7, 1))
	verdicts := map[bool]int{}
	for trial := range 400 {
		var ops []Op
		var values []string
		for i := range 3 + rng.IntN(6) {
			call := time.Duration(rng.IntN(100))
			ret := call + time.Duration(1+rng.IntN(30))
			if rng.IntN(2) == 0 {
				v := fmt.Sprint("v", i)
				values = append(values, v)
				o := w(i%3, "k", v, call, ret)
				if rng.IntN(3) == 0 {
					o.Failed, o.Return = true, Pending
				}
				ops = append(ops, o)
			} else {
				v := ""
				if len(values) > 0 && rng.IntN(4) > 0 {
					v = values[rng.IntN(len(values))]
				}
				ops = append(ops, r(i%3, "k", v, call, ret))
			}
		}
		h := History{Ops: ops}
		full, err := operations(h, false)
		if err != nil {
			t.Fatal(err)
		}
		pruned, err := operations(h, true)
		if err != nil {
			t.Fatal(err)
		}
		a, b := porcupine.CheckOperations(Model(), full), porcupine.CheckOperations(Model(), pruned)
		if a != b {
			t.Fatalf("trial %d: linearizable %v with every failed write, %v without the unread ones: %v", trial, a, b, ops)
		}
		verdicts[a]++
	}
	if verdicts[true] < 40 || verdicts[false] < 40 {
		t.Errorf("verdicts %v: the random histories should give plenty of both", verdicts)
	}
}

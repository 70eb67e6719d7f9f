package session

import (
	"strings"
	"testing"
	"time"
)

func wr(s int, key string, v uint64) Op { return Op{Session: s, Kind: Write, Key: key, Version: v} }
func rd(s int, key string, v uint64) Op { return Op{Session: s, Kind: Read, Key: key, Version: v} }
func failed(o Op) Op                    { o.Err = "timeout"; return o }

func ops(vs []Violation) []int {
	var out []int
	for _, v := range vs {
		out = append(out, v.Op)
	}
	return out
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGuaranteeCheckersFlagExactlyTheBadOperations(t *testing.T) {
	tests := []struct {
		name  string
		check Checker
		h     History
		want  []int // indexes of the flagged operations
	}{
		{"monotonic reads: a session's read going back in time is flagged", CheckMonotonicReads,
			History{rd(1, "k", 5), rd(1, "k", 3)}, []int{1}},
		{"monotonic reads: reading the same or a newer version is fine", CheckMonotonicReads,
			History{rd(1, "k", 5), rd(1, "k", 5), rd(1, "k", 8)}, nil},
		{"monotonic reads: another session's older read is not a violation", CheckMonotonicReads,
			History{rd(1, "k", 5), rd(2, "k", 3)}, nil},
		{"monotonic reads: keys are judged separately", CheckMonotonicReads,
			History{rd(1, "a", 5), rd(1, "b", 3)}, nil},
		{"monotonic reads: failed reads are not judged", CheckMonotonicReads,
			History{rd(1, "k", 5), failed(rd(1, "k", 0))}, nil},
		{"monotonic reads: going back twice is flagged twice, against the highest seen", CheckMonotonicReads,
			History{rd(1, "k", 5), rd(1, "k", 3), rd(1, "k", 4), rd(1, "k", 6)}, []int{1, 2}},
		{"monotonic writes: a write ordered before the session's previous one is flagged", CheckMonotonicWrites,
			History{wr(1, "a", 7), wr(1, "b", 4)}, []int{1}},
		{"monotonic writes: writes in order, and other sessions, are fine", CheckMonotonicWrites,
			History{wr(1, "a", 4), wr(2, "b", 2), wr(1, "b", 7), failed(wr(1, "c", 0))}, nil},
		{"writes-follow-reads: a write ordered before what the session had read is flagged", CheckWritesFollowReads,
			History{wr(2, "post", 9), rd(1, "post", 9), wr(1, "reply", 6)}, []int{2}},
		{"writes-follow-reads: a write after what was read is fine; reading nothing binds nothing", CheckWritesFollowReads,
			History{rd(1, "post", 9), wr(1, "reply", 12), rd(2, "x", 0), wr(2, "y", 1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ops(tt.check(tt.h))
			if !sameInts(got, tt.want) {
				t.Errorf("flagged ops %v, want %v", got, tt.want)
			}
		})
	}
}

func TestViolationsNameTheirCauseAndVersions(t *testing.T) {
	vs := CheckMonotonicReads(History{rd(3, "k", 5), rd(3, "k", 2)})
	if len(vs) != 1 {
		t.Fatalf("got %v, want one violation", vs)
	}
	want := Violation{Guarantee: MonotonicReads, Session: 3, Key: "k", Op: 1, Cause: 0, Want: 5, Got: 2}
	if vs[0] != want {
		t.Errorf("got %+v, want %+v", vs[0], want)
	}
	if s := vs[0].String(); !strings.Contains(s, "monotonic reads") || !strings.Contains(s, "got version 2") {
		t.Errorf("String() = %q; it should name the guarantee and the versions", s)
	}
}

func TestCheckRefusesBadInputWithClearErrors(t *testing.T) {
	ok := func(History) []Violation { return nil }
	tests := []struct {
		name string
		h    History
		ryw  Checker
		want string
	}{
		{"no read-your-writes checker", History{rd(1, "k", 0)}, nil, "no read-your-writes checker"},
		{"an operation of unknown kind", History{{Session: 1, Key: "k"}}, ok, "unknown kind"},
		{"an operation with no key", History{{Session: 1, Kind: Read}}, ok, "no key"},
		{"an operation that ends before it starts", History{{Session: 1, Kind: Read, Key: "k", Start: 5, End: 1}}, ok, "before it starts"},
		{"a session whose operations overlap", History{{Session: 1, Kind: Read, Key: "k", Start: 0, End: 10}, {Session: 1, Kind: Read, Key: "k", Start: 5, End: 12}}, ok, "before the session's previous op ended"},
		{"a checker that panics", History{rd(1, "k", 0)}, func(History) []Violation { panic("boom") }, "panicked: boom"},
		{"a checker that reports an op outside the history", History{rd(1, "k", 0)}, func(History) []Violation { return []Violation{{Op: 7}} }, "outside the history"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.h, tt.ryw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestCheckGivesCheckersACopyOfTheHistory(t *testing.T) {
	h := History{wr(2, "k", 1), rd(1, "k", 0)}
	scramble := func(h History) []Violation { h[0], h[1] = h[1], h[0]; return nil }
	if _, err := Check(h, scramble); err != nil {
		t.Fatal(err)
	}
	if h[0].Kind != Write {
		t.Error("a checker reordered the caller's history")
	}
}

func TestPercentileIsNearestRankAndSafeOnNoData(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 3}, {99, 5}, {0, 1}, {100, 5}, {20, 1}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", ds, c.p, got, c.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("Percentile of nothing should be 0")
	}
	if ds[0] != 5 {
		t.Error("Percentile sorted the caller's slice")
	}
}

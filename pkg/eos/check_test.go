package eos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckFlagsEachAnomalyOnACraftedHistory(t *testing.T) {
	in := []Input{{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}}
	clean := []Read{{0, 0, "a", 0, ""}, {0, 1, "a", 1, ""}, {1, 0, "b", 0, ""}, {0, 2, "a", 2, ""}}
	cases := []struct {
		name    string
		reads   []Read
		aborted map[string]bool
		want    Report
	}{
		{"a clean history is exactly-once", clean, nil, Report{}},
		{"a missing record is lost (at-most-once)",
			[]Read{{0, 0, "a", 0, ""}, {1, 0, "b", 0, ""}, {0, 1, "a", 2, ""}}, nil,
			Report{Lost: 1}},
		{"a reprocessed batch is duplicated, not reordered (at-least-once)",
			append(clean, Read{0, 3, "a", 1, ""}, Read{0, 4, "a", 2, ""}), nil,
			Report{Duplicated: 2}},
		{"a record of an aborted transaction is an aborted read (read_uncommitted)",
			[]Read{{0, 0, "a", 0, "w1/t1"}, {0, 1, "a", 1, "w1/t1"}, {1, 0, "b", 0, "w2/t1"}, {0, 3, "a", 2, "w2/t1"}, {0, 4, "a", 1, "w2/t1"}},
			map[string]bool{"w1/t1": true},
			Report{AbortedReads: 2, Duplicated: 1}},
		{"an offset going back in a partition is non-monotonic",
			[]Read{{0, 1, "a", 0, ""}, {0, 0, "a", 1, ""}, {1, 0, "b", 0, ""}, {0, 2, "a", 2, ""}}, nil,
			Report{NonMonotonic: 1}},
		{"a lower seq first read after a higher one is reordered",
			[]Read{{0, 0, "a", 1, ""}, {0, 1, "a", 0, ""}, {1, 0, "b", 0, ""}, {0, 2, "a", 2, ""}}, nil,
			Report{Reordered: 1}},
		{"a record that never went in is unexpected",
			append(clean, Read{1, 1, "b", 9, ""}), nil,
			Report{Unexpected: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Check(History{Inputs: in, Aborted: c.aborted, Reads: c.reads})
			c.want.Inputs, c.want.Reads = len(in), len(c.reads)
			got.Examples = nil
			require.Equal(t, c.want, got)
			require.Equal(t, c.want.OK(), got.OK())
		})
	}
}

func TestReportStringNamesEveryCount(t *testing.T) {
	r := Check(History{Inputs: []Input{{"a", 0}, {"a", 1}}, Reads: []Read{{0, 0, "a", 0, ""}, {0, 1, "a", 0, ""}}})
	require.Equal(t, "2 inputs, 2 reads: 1 lost, 1 duplicated, 0 aborted reads, 0 non-monotonic, 0 reordered, 0 unexpected", r.String())
	require.Equal(t, []string{"duplicate: a#0 read 2 times (at 0/1)", "lost: a#1"}, r.Examples)
}

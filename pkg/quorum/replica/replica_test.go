package replica

import (
	"fmt"
	"testing"
)

func TestVersionsOrderByStampThenNodeThenSeq(t *testing.T) {
	tests := []struct {
		name string
		a, b Version
		want int
	}{
		{"a later stamp is newer, whatever node and counter", Version{Stamp: 2}, Version{Stamp: 1, Node: 9, Seq: 9}, 1},
		{"on equal stamps the higher node is newer", Version{Stamp: 5, Node: 2}, Version{Stamp: 5, Node: 1, Seq: 9}, 1},
		{"on equal stamps and nodes the higher counter is newer", Version{Stamp: 5, Node: 1, Seq: 3}, Version{Stamp: 5, Node: 1, Seq: 2}, 1},
		{"equal versions compare equal", Version{Stamp: 5, Node: 1, Seq: 3}, Version{Stamp: 5, Node: 1, Seq: 3}, 0},
		{"any write is newer than the zero version", Version{Stamp: 1}, Version{}, 1},
		{"a negative stamp (a clock behind) is still newer than none", Version{Stamp: -5, Seq: 1}, Version{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := tt.b.Compare(tt.a); got != -tt.want {
				t.Errorf("%v.Compare(%v) = %d, want %d (antisymmetry)", tt.b, tt.a, got, -tt.want)
			}
			if tt.a.Newer(tt.b) != (tt.want > 0) {
				t.Errorf("%v.Newer(%v) = %v", tt.a, tt.b, tt.a.Newer(tt.b))
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Version{}.String(), "none"},
		{Version{Stamp: 12_500_000, Node: 2, Seq: 7}.String(), "12.5ms@n2#7"},
		{Reply{Node: "eu-west"}.String(), "eu-west: (none)"},
		{Reply{Node: "eu-west", Found: true, Value: "v", Version: Version{Stamp: 1000, Node: 1, Seq: 1}}.String(), `eu-west: "v"@1µs@n1#1`},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Last write wins: of two writes to a key, the one with the newer version
// survives, wherever the replicas received them in a different order.
func ExampleVersion_Newer() {
	fromUS := Version{Stamp: 1_000_000, Node: 0, Seq: 41}
	fromEU := Version{Stamp: 1_000_000, Node: 2, Seq: 7} // same instant, higher node
	fmt.Println(fromEU.Newer(fromUS), fromUS.Newer(fromEU))
	// Output: true false
}

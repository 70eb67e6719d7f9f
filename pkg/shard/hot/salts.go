package hot

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Epoch is a period during which a customer's writes are spread over Salts
// sub-shards (salts 0..Salts-1), from From until the next epoch.
type Epoch struct {
	From  time.Time
	Salts int
}

// SaltTable is the routing table of salt factors: for every salted
// customer, the history of its salt factor. Writes use the factor in effect
// now; a read of [from, to) must visit every salt used at any time in the
// range, which [SaltTable.Span] returns. Because the salts in use are always
// 0..k-1, lowering a factor never strands data: a later read over the old
// period still fans out over the old, larger k.
//
// A customer with no entry has one salt (it is not salted). SaltTable is
// safe for concurrent use.
type SaltTable struct {
	mu     sync.RWMutex
	epochs map[string][]Epoch
}

// NewSaltTable returns an empty table: no customer is salted.
func NewSaltTable() *SaltTable { return &SaltTable{epochs: map[string][]Epoch{}} }

// Set records that customer's writes use salts sub-shards from time from
// on. Changes must be recorded in time order; setting the factor already in
// effect changes nothing. It reports whether the factor changed.
func (t *SaltTable) Set(customer string, from time.Time, salts int) (bool, error) {
	if customer == "" {
		return false, errors.New("salt table: empty customer")
	}
	if salts < 1 {
		return false, fmt.Errorf("salt table: salt factor must be at least 1, got %d for %s", salts, customer)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.epochs[customer]
	before := 1
	if n := len(h); n > 0 {
		last := h[n-1]
		if from.Before(last.From) {
			return false, fmt.Errorf("salt table: change for %s at %s is before the last one at %s: record changes in time order",
				customer, from.UTC().Format(time.RFC3339), last.From.UTC().Format(time.RFC3339))
		}
		before = last.Salts
		if from.Equal(last.From) {
			h = h[:n-1] // a later decision at the same instant replaces it
		}
	}
	prev := 1
	if len(h) > 0 {
		prev = h[len(h)-1].Salts
	}
	if prev != salts {
		h = append(h, Epoch{From: from, Salts: salts})
	}
	if len(h) == 0 {
		delete(t.epochs, customer)
	} else {
		t.epochs[customer] = h
	}
	return before != salts, nil
}

// At returns the salt factor for customer's writes at time at.
func (t *SaltTable) At(customer string, at time.Time) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	h := t.epochs[customer]
	i := sort.Search(len(h), func(i int) bool { return h[i].From.After(at) })
	if i == 0 {
		return 1
	}
	return h[i-1].Salts
}

// Span returns how many salts a read of customer's data in [from, to) must
// visit: the largest factor in effect at any time in the range (1 for an
// unsalted customer). An empty range needs 1; a range that ends before it
// starts is an error.
func (t *SaltTable) Span(customer string, from, to time.Time) (int, error) {
	if to.Before(from) {
		return 0, fmt.Errorf("salt table: range ends (%s) before it starts (%s)", to.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	k := t.At(customer, from)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.epochs[customer] {
		if e.From.After(from) && e.From.Before(to) {
			k = max(k, e.Salts)
		}
	}
	return k, nil
}

// History returns customer's epochs, oldest first (nil when never salted).
func (t *SaltTable) History(customer string) []Epoch {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.epochs[customer])
}

// Salted returns the customers whose latest factor is above 1, sorted.
func (t *SaltTable) Salted() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for c, h := range t.epochs {
		if h[len(h)-1].Salts > 1 {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// Customers returns every customer with a recorded epoch, sorted.
func (t *SaltTable) Customers() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.epochs))
	for c := range t.epochs {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Prune forgets epochs that ended before cutoff (once retention has deleted
// the data written in them), keeping the one in effect at cutoff. It returns
// how many epochs it removed.
func (t *SaltTable) Prune(cutoff time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := 0
	for c, h := range t.epochs {
		i := sort.Search(len(h), func(i int) bool { return h[i].From.After(cutoff) })
		// h[i-1] is in effect at cutoff: keep it and what follows.
		if i >= 2 {
			removed += i - 1
			h = slices.Delete(h, 0, i-1)
		}
		if len(h) == 1 && h[0].Salts == 1 && !h[0].From.After(cutoff) {
			removed++
			delete(t.epochs, c)
			continue
		}
		t.epochs[c] = h
	}
	return removed
}

package ordering

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dsgym/dsgym/pkg/ordering/history"
)

// Dist is how a workload picks the user of each event.
type Dist int

const (
	// Uniform picks every user equally often.
	Uniform Dist = iota
	// Zipf picks user i with probability proportional to 1/(i+1)^S.
	Zipf
)

// Workload describes a stream of user events.
type Workload struct {
	Users  int  // distinct users (keys), user-0000 ...
	Events int  // events in all
	Dist   Dist // how the non-hot events pick their user
	S      float64
	// HotUsers users (the first ones) take HotShare of all events
	// between them, the rest share what is left by Dist.
	HotUsers int
	HotShare float64
	Seed     uint64
}

// MaxEvents bounds one workload.
const MaxEvents = 10_000_000

// User names user i.
func User(i int) string { return fmt.Sprintf("user-%04d", i) }

// Generate returns the workload's events in the order they are produced,
// each user's sequence numbers 0, 1, 2, ... in order. The same Workload
// always gives the same events.
func (w Workload) Generate() ([]history.Event, error) {
	switch {
	case w.Users < 1:
		return nil, fmt.Errorf("a workload needs at least one user, not %d", w.Users)
	case w.Events < 0 || w.Events > MaxEvents:
		return nil, fmt.Errorf("events must be between 0 and %d, not %d", MaxEvents, w.Events)
	case w.HotUsers < 0 || w.HotUsers > w.Users:
		return nil, fmt.Errorf("hot users must be between 0 and the %d users, not %d", w.Users, w.HotUsers)
	case w.HotShare < 0 || w.HotShare > 1 || (w.HotUsers == 0 && w.HotShare > 0):
		return nil, fmt.Errorf("the hot share must be between 0 and 1 and needs hot users (share %v, %d hot users)", w.HotShare, w.HotUsers)
	case w.HotUsers == w.Users && w.HotShare < 1 && w.HotUsers > 0:
		return nil, fmt.Errorf("every user is hot, so the hot share must be 1, not %v", w.HotShare)
	case w.Dist == Zipf && w.S <= 0:
		return nil, fmt.Errorf("a Zipf workload needs an exponent S > 0, not %v", w.S)
	}
	r := rand.New(rand.NewPCG(w.Seed, 8))
	cold := w.Users - w.HotUsers
	var cdf []float64
	if w.Dist == Zipf && cold > 0 {
		cdf = make([]float64, cold)
		sum := 0.0
		for i := range cdf {
			sum += 1 / math.Pow(float64(i+1), w.S)
			cdf[i] = sum
		}
		for i := range cdf {
			cdf[i] /= sum
		}
	}
	next := make([]int, w.Users)
	out := make([]history.Event, w.Events)
	for i := range out {
		var u int
		switch {
		case w.HotUsers > 0 && (cold == 0 || r.Float64() < w.HotShare):
			u = r.IntN(w.HotUsers)
		case cdf != nil:
			x := r.Float64()
			lo, hi := 0, len(cdf)-1
			for lo < hi {
				mid := (lo + hi) / 2
				if cdf[mid] < x {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			u = w.HotUsers + lo
		default:
			u = w.HotUsers + r.IntN(cold)
		}
		out[i] = history.Event{Key: User(u), Seq: next[u]}
		next[u]++
	}
	return out, nil
}

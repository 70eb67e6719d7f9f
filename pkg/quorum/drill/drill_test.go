package drill

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dsgym/dsgym/pkg/quorum/replica"
	solution "github.com/dsgym/dsgym/solutions/quorum"
)

func TestReferencesPassEveryCheck(t *testing.T) {
	QuorumRead.Passes(t, solution.QuorumRead)
	Classify.Passes(t, solution.Classify)
}

// Each known-bad implementation below is a plausible mistake, most of them
// the reference with one thing changed.

func firstReply(r int, rs []replica.Reply) (replica.Resolution, error) {
	// answers as soon as one replica answered: R + W <= N, claimed as strong
	if r < 1 {
		return replica.Resolution{}, fmt.Errorf("bad r")
	}
	return solution.QuorumRead(1, rs)
}

func countsReplies(r int, rs []replica.Reply) (replica.Resolution, error) {
	// counts replies instead of replicas: a duplicated reply fakes a quorum
	if r < 1 {
		return replica.Resolution{}, fmt.Errorf("bad r")
	}
	if len(rs) < r {
		return replica.Resolution{}, nil
	}
	return solution.QuorumRead(1, rs)
}

func largestValue(r int, rs []replica.Reply) (replica.Resolution, error) {
	res, err := solution.QuorumRead(r, rs)
	if err != nil || !res.Done || !res.Found {
		return res, err
	}
	best := replica.Reply{}
	for _, x := range rs {
		if x.Found && x.Value > best.Value {
			best = x
		}
	}
	res.Value, res.Version = best.Value, best.Version
	return res, nil
}

func lastReply(r int, rs []replica.Reply) (replica.Resolution, error) {
	res, err := solution.QuorumRead(r, rs)
	if err != nil || !res.Done || !res.Found {
		return res, err
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Found {
			res.Value, res.Version = rs[i].Value, rs[i].Version
			break
		}
	}
	return res, nil
}

func stampOnly(r int, rs []replica.Reply) (replica.Resolution, error) {
	// compares Stamp alone: the first of two writes stamped at once wins
	res, err := solution.QuorumRead(r, rs)
	if err != nil || !res.Done || !res.Found {
		return res, err
	}
	best := replica.Reply{}
	for _, x := range rs {
		if x.Found && (!best.Found || x.Version.Stamp > best.Version.Stamp) {
			best = x
		}
	}
	res.Value, res.Version = best.Value, best.Version
	return res, nil
}

func firstR(r int, rs []replica.Reply) (replica.Resolution, error) {
	// decides on the first R replies only, ignoring later ones
	if r >= 1 && len(rs) > r {
		rs = rs[:r]
	}
	return solution.QuorumRead(r, rs)
}

func noRepair(r int, rs []replica.Reply) (replica.Resolution, error) {
	res, err := solution.QuorumRead(r, rs)
	res.Repair = nil
	return res, err
}

func repairsEveryone(r int, rs []replica.Reply) (replica.Resolution, error) {
	res, err := solution.QuorumRead(r, rs)
	if err != nil || !res.Done {
		return res, err
	}
	res.Repair = nil
	for _, x := range rs {
		if !slices.Contains(res.Repair, x.Node) {
			res.Repair = append(res.Repair, x.Node)
		}
	}
	return res, nil
}

func emptyWins(r int, rs []replica.Reply) (replica.Resolution, error) {
	// treats "not found" as the newest answer when any replica lacks the key
	res, err := solution.QuorumRead(r, rs)
	if err != nil || !res.Done {
		return res, err
	}
	for _, x := range rs {
		if !x.Found {
			return replica.Resolution{Done: true}, nil
		}
	}
	return res, nil
}

func noValidation(r int, rs []replica.Reply) (replica.Resolution, error) {
	if r < 1 {
		r = 1
	}
	for i := range rs {
		if rs[i].Node == "" {
			rs[i].Node = "?"
		}
	}
	return solution.QuorumRead(r, rs)
}

func deadlocks(int, []replica.Reply) (replica.Resolution, error) { select {} }

func TestReadChecksCatchKnownBadImplementations(t *testing.T) {
	tests := []struct {
		name   string
		bad    QuorumReadFunc
		checks []string
	}{
		{"answering after the first reply (R + W <= N claimed as strong)", firstReply, []string{
			"it waits until R distinct replicas have answered",
			"the register built on it is linearizable with N=3, R=2, W=2"}},
		{"counting replies instead of replicas", countsReplies, []string{"it waits until R distinct replicas have answered"}},
		{"taking the largest value", largestValue, []string{"the newest version wins, not the largest value nor the last reply"}},
		{"taking the last reply", lastReply, []string{"the newest version wins, not the largest value nor the last reply"}},
		{"comparing stamps only", stampOnly, []string{"equal stamps are ordered by node, then by sequence"}},
		{"deciding on the first R replies only", firstR, []string{"every reply counts, even beyond the first R"}},
		{"never repairing", noRepair, []string{
			"replicas behind the answer, or empty, are repaired in the order they answered",
			"read repair brings replicas left behind by a partition up to date"}},
		{"repairing every replica", repairsEveryone, []string{"replicas behind the answer, or empty, are repaired in the order they answered"}},
		{"letting an empty reply win", emptyWins, []string{"replicas behind the answer, or empty, are repaired in the order they answered"}},
		{"accepting bad input", noValidation, []string{"bad input is an error: R below 1, a reply naming no replica"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			QuorumRead.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
	t.Run("rejects blocking forever", func(t *testing.T) {
		QuorumRead.Timeout = 100 * time.Millisecond // the blocking version must time out fast
		defer func() { QuorumRead.Timeout = 0 }()
		QuorumRead.Catches(t, "blocking forever", deadlocks, "it waits until R distinct replicas have answered")
	})
}

func TestClassifyChecksCatchKnownBadImplementations(t *testing.T) {
	strict := func(f func(n, r, w int) replica.Profile) ClassifyFunc {
		return func(n, r, w int, sloppy bool) (replica.Profile, error) {
			if _, err := solution.Classify(n, r, w, sloppy); err != nil {
				return replica.Profile{}, err
			}
			return f(n, r, w), nil
		}
	}
	edit := func(change func(p *replica.Profile, n, r, w int, sloppy bool)) ClassifyFunc {
		return func(n, r, w int, sloppy bool) (replica.Profile, error) {
			p, err := solution.Classify(n, r, w, sloppy)
			if err == nil {
				change(&p, n, r, w, sloppy)
			}
			return p, err
		}
	}
	tests := []struct {
		name   string
		bad    ClassifyFunc
		checks []string
	}{
		{"R + W >= N claimed as strong", edit(func(p *replica.Profile, n, r, w int, sloppy bool) { p.Strong = !sloppy && r+w >= n }), []string{
			"R + W > N is strong, R + W = N is not", "it agrees with counting quorum intersections by brute force, N up to 6"}},
		{"ignoring sloppy quorums", func(n, r, w int, _ bool) (replica.Profile, error) { return solution.Classify(n, r, w, false) }, []string{
			"a sloppy quorum is never strong, whatever R and W"}},
		{"a negative overlap", edit(func(p *replica.Profile, n, r, w int, sloppy bool) {
			if !sloppy {
				p.Overlap = r + w - n
			}
		}), []string{"the overlap is R + W - N, never below 0", "it agrees with counting quorum intersections by brute force, N up to 6"}},
		{"tolerating one failure too many", edit(func(p *replica.Profile, n, r, w int, _ bool) { p.ReadsSurvive, p.WritesSurvive = n-r+1, n-w+1 }), []string{
			"reads survive N - R replicas down, writes N - W"}},
		{"write quorums meeting at 2W >= N", edit(func(p *replica.Profile, n, r, w int, sloppy bool) { p.WritesOverlap = !sloppy && 2*w >= n }), []string{
			"two write quorums meet exactly when 2W > N", "it agrees with counting quorum intersections by brute force, N up to 6"}},
		{"an empty profile", strict(func(n, r, w int) replica.Profile { return replica.Profile{} }), []string{
			"R + W > N is strong, R + W = N is not", "reads survive N - R replicas down, writes N - W"}},
		{"no validation", func(n, r, w int, sloppy bool) (replica.Profile, error) {
			return replica.Profile{Strong: r+w > n && !sloppy, Overlap: max(0, r+w-n), ReadsSurvive: n - r, WritesSurvive: n - w, WritesOverlap: 2*w > n}, nil
		}, []string{"bad input is an error: N below 1, R or W outside 1..N"}},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			Classify.Catches(t, tt.name, tt.bad, tt.checks...)
		})
	}
}

package linz

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/dsgym/dsgym/pkg/nb"
)

// input and output are what porcupine sees of an operation.
type input struct {
	key   string
	write bool
	value string
}

type output struct {
	found bool
	value string
}

// state is one key's register: its value, if any. It is comparable, so
// porcupine's default equality works.
type state struct {
	found bool
	value string
}

// Model returns the porcupine model of a key-value store made of one
// read/write register per key. Its Partition function splits a history by
// key: without it porcupine would treat the store as one register, and a
// correct history would be reported illegal.
func Model() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Input.(input).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, len(keys))
			for i, k := range keys {
				out[i] = byKey[k]
			}
			return out
		},
		Init: func() any { return state{} },
		Step: func(st, in, out any) (bool, any) {
			s, i, o := st.(state), in.(input), out.(output)
			if i.write {
				return true, state{found: true, value: i.value}
			}
			return o.found == s.found && o.value == s.value, s
		},
		DescribeOperation: func(in, out any) string {
			i, o := in.(input), out.(output)
			switch {
			case i.write:
				return fmt.Sprintf("put %s=%s", i.key, i.value)
			case o.found:
				return fmt.Sprintf("get %s → %s", i.key, o.value)
			default:
				return fmt.Sprintf("get %s → none", i.key)
			}
		},
		DescribeState: func(st any) string {
			if s := st.(state); s.found {
				return s.value
			}
			return "none"
		},
		DescribeOperationMetadata: func(info any) string {
			if s, ok := info.(string); ok {
				return s
			}
			return ""
		},
	}
}

// Operations converts a history to porcupine operations. Failed reads are
// left out. A failed write gets an unknown return: it may take effect at any
// time after its call. A failed write whose value no read returned is left
// out too: it changes nothing to the verdict (had it taken effect, it could
// be placed last), and each such write would multiply porcupine's search.
func Operations(h History) ([]porcupine.Operation, error) { return operations(h, true) }

// operations converts h; prune leaves out the failed writes nobody read.
func operations(h History, prune bool) ([]porcupine.Operation, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	read := map[[2]string]bool{} // (key, value) pairs some successful read returned
	for _, o := range h.Ops {
		if o.Kind == Read && !o.Failed && o.Found {
			read[[2]string{o.Key, o.Value}] = true
		}
	}
	ops := make([]porcupine.Operation, 0, len(h.Ops))
	for _, o := range h.Ops {
		if o.Kind == Read && o.Failed || prune && o.Kind == Write && o.Failed && !read[[2]string{o.Key, o.Value}] {
			continue
		}
		ret := int64(o.Return)
		if o.Failed {
			ret = math.MaxInt64
		}
		in := input{key: o.Key, write: o.Kind == Write, value: o.Value}
		out := output{found: o.Found, value: o.Value}
		if o.Kind == Write {
			out = output{}
		}
		meta := o.Tag
		if o.Failed {
			meta = strings.TrimSpace(meta + " (failed: outcome unknown)")
		}
		ops = append(ops, porcupine.Operation{ClientId: o.Client, Input: in, Output: out, Call: int64(o.Call), Return: ret, Metadata: meta})
	}
	return ops, nil
}

// Verdict is the outcome of a linearizability check.
type Verdict string

// The verdicts.
const (
	Linearizable    Verdict = "linearizable"
	NotLinearizable Verdict = "not linearizable"
	Unknown         Verdict = "unknown (the check timed out)"
)

// Result is the outcome of [Check].
type Result struct {
	Verdict Verdict
	// Ops counts the operations checked (failed reads are not), Keys the
	// keys.
	Ops, Keys int
	// IllegalKeys lists the keys whose history is not linearizable (only
	// when the verdict is NotLinearizable), sorted.
	IllegalKeys []string
	// Elapsed is the wall-clock time the check took.
	Elapsed time.Duration

	history History
	timeout time.Duration
}

// OK reports whether the history was found linearizable.
func (r Result) OK() bool { return r.Verdict == Linearizable }

// String gives the verdict with the counts and the keys at fault.
func (r Result) String() string {
	s := fmt.Sprintf("%s (%d operations on %d keys)", r.Verdict, r.Ops, r.Keys)
	if len(r.IllegalKeys) > 0 {
		s += fmt.Sprintf("; keys with a violation: %s", abbreviate(r.IllegalKeys, 8))
	}
	return s
}

func abbreviate(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// Check checks whether history h is linearizable, one register per key.
// Keys are independent registers, so each key's operations are checked
// separately, as many at once as there are CPUs. timeout bounds the
// wall-clock time of the whole search (0 means no limit); a key whose search
// runs out of time makes the verdict Unknown, unless another key is already
// known not to be linearizable.
func Check(h History, timeout time.Duration) (Result, error) {
	ops, err := Operations(h)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	model := Model()
	parts := model.Partition(ops)
	verdicts := make([]porcupine.CheckResult, len(parts))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			left := time.Duration(0)
			if timeout > 0 {
				if left = timeout - time.Since(start); left <= 0 {
					verdicts[i] = porcupine.Unknown
					return
				}
			}
			verdicts[i] = porcupine.CheckOperationsTimeout(model, part, left)
		}()
	}
	wg.Wait()
	res := Result{Verdict: Linearizable, Ops: len(ops), Keys: len(h.Keys()), history: h, timeout: timeout}
	for i, v := range verdicts {
		switch v {
		case porcupine.Illegal:
			res.Verdict = NotLinearizable
			res.IllegalKeys = append(res.IllegalKeys, parts[i][0].Input.(input).key)
		case porcupine.Unknown:
			if res.Verdict == Linearizable {
				res.Verdict = Unknown
			}
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// Timeline returns porcupine's interactive timeline of the checked history
// as a self-contained HTML page. For a history that is not linearizable it
// shows the first key at fault, cut after the violation: the shortest
// prefix of that key's operations (in call order) that is already not
// linearizable, plus a few operations after it. For a linearizable history
// it shows the first key's first 60 operations.
//
// A prefix leaves out the reads that returned a value written by an
// operation cut off, so that cutting never creates a violation of its own.
func (r Result) Timeline() (string, error) {
	if r.Verdict == "" {
		return "", fmt.Errorf("no checked history: call Check first")
	}
	key := ""
	if len(r.IllegalKeys) > 0 {
		key = r.IllegalKeys[0]
	} else if keys := r.history.Keys(); len(keys) > 0 {
		key = keys[0]
	} else {
		return "", fmt.Errorf("the history is empty")
	}
	all, err := Operations(r.history.Filter(func(o Op) bool { return o.Key == key }))
	if err != nil {
		return "", err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Call < all[j].Call })
	model := Model()
	prefix := func(n int) []porcupine.Operation { return cut(all, n) }
	illegal := func(n int) bool {
		return porcupine.CheckOperationsTimeout(model, prefix(n), r.timeout) == porcupine.Illegal
	}
	ops := all[:min(len(all), 60)]
	if len(r.IllegalKeys) > 0 && illegal(len(all)) {
		lo, hi := 1, len(all) // illegal(hi) holds; find a shortest such prefix
		for lo < hi {
			if mid := (lo + hi) / 2; illegal(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		n := min(len(all), hi+4)
		if !illegal(n) {
			n = hi
		}
		ops = prefix(n)
	}
	_, info := porcupine.CheckOperationsVerbose(model, ops, r.timeout)
	var ann []porcupine.Annotation
	last := int64(0)
	for _, o := range ops {
		if o.Return != math.MaxInt64 {
			last = max(last, o.Return)
		}
		last = max(last, o.Call)
	}
	for _, n := range r.history.Notes {
		if int64(n.At) <= last {
			ann = append(ann, porcupine.Annotation{Tag: "network", Start: int64(n.At), Description: n.Text, BackgroundColor: "#fde68a"})
		}
	}
	if len(ann) > 0 {
		info.AddAnnotations(ann)
	}
	var b bytes.Buffer
	if err := porcupine.Visualize(model, info, &b); err != nil {
		return "", fmt.Errorf("drawing the timeline: %w", err)
	}
	return b.String(), nil
}

// cut returns the first n operations of ops (sorted by call), less the reads
// that returned a value whose write is not among them. Every cut of a
// linearizable history is then linearizable: a cut can hide a violation but
// never invent one.
func cut(ops []porcupine.Operation, n int) []porcupine.Operation {
	written := map[string]bool{}
	for _, o := range ops[:n] {
		if in := o.Input.(input); in.write {
			written[in.value] = true
		}
	}
	var out []porcupine.Operation
	for _, o := range ops[:n] {
		if in, ret := o.Input.(input), o.Output.(output); !in.write && ret.found && !written[ret.value] {
			continue
		}
		out = append(out, o)
	}
	return out
}

// ShowTimeline displays the timeline of [Result.Timeline] inline in a
// notebook (an iframe holding porcupine's page), with the verdict as its
// plain-text form. Outside a notebook it prints the verdict only.
func (r Result) ShowTimeline() error {
	page, err := r.Timeline()
	if err != nil {
		return err
	}
	clients := map[int]bool{}
	for _, o := range r.history.Ops {
		clients[o.Client] = true
	}
	height := min(720, max(300, 180+40*len(clients)))
	frame := fmt.Sprintf(`<iframe class="dsgym-timeline" title="porcupine timeline" srcdoc="%s" style="width:100%%;max-width:1100px;height:%dpx;border:1px solid #ddd;border-radius:4px"></iframe>`,
		html.EscapeString(page), height)
	nb.Show(frame, "[porcupine timeline] "+r.String())
	return nil
}

package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/sim"
)

// Trace is one logical request sent through scripted faults: what each
// attempt met, what the server did, and the sequence diagram of it.
type Trace struct {
	UseKey   bool
	Attempts []idempotency.Attempt
	// Server says, per attempt, what the server did ("" when the attempt
	// never reached it).
	Server []string
	// Effects is how many events the one logical request stored.
	Effects int64
	// Mermaid is a sequence diagram of the trace.
	Mermaid string
}

// WhyDuplicates sends one event from a producer whose first attempt loses
// its response (the server stored the event, the connection reset before
// the 201 arrived) and whose second attempt loses its request; the third
// gets through. Without a key the server stores the event twice; with a key
// it stores it once and replays its response. seed picks the key.
func WhyDuplicates(ctx context.Context, env Env, useKey bool, seed uint64) (Trace, error) {
	var opts *idempotency.Options
	if useKey {
		opts = &idempotency.Options{Mode: idempotency.TwoTransactions}
	}
	svc, err := start(ctx, env, opts, Steps{}, 0)
	if err != nil {
		return Trace{}, err
	}
	defer svc.close()
	plan := map[int]idempotency.Fault{1: idempotency.LoseResponse, 2: idempotency.DropRequest}
	rec := &serverLog{store: svc.store, next: idempotency.NewTransport()}
	faults := &idempotency.Faults{Seed: seed, Next: rec, Plan: func(_ string, n int) (idempotency.Fault, bool) {
		f, ok := plan[n]
		return f, ok || n > 2
	}}
	policy := idempotency.NoKey
	if useKey {
		policy = idempotency.SameKey
	}
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: svc.srv.URL + "/events", Transport: faults, Keys: policy, Seed: seed,
		BaseBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		return Trace{}, err
	}
	key, err := idempotency.NewKey(sim.NewRand(seed, "why-key"))
	if err != nil {
		return Trace{}, err
	}
	res, err := c.PostEvent(ctx, key, idempotency.Event{ID: "reading-42", Source: "sensor-7", Type: "temperature", Data: json.RawMessage(`{"celsius":21.5}`)})
	if err != nil {
		return Trace{}, err
	}
	counts, err := svc.store.CountEvents(ctx)
	if err != nil {
		return Trace{}, err
	}
	tr := Trace{UseKey: useKey, Attempts: res.Attempts, Effects: counts.Effects}
	reached := 0
	for _, a := range res.Attempts {
		if a.Fault == idempotency.DropRequest {
			tr.Server = append(tr.Server, "")
			continue
		}
		tr.Server = append(tr.Server, rec.entry(reached))
		reached++
	}
	tr.Mermaid = tr.diagram(key)
	return tr, nil
}

// serverLog is a transport that records, after each request that reached
// the server, how many events the store holds and whether the answer was a
// replay.
type serverLog struct {
	store *idempotency.Store
	next  http.RoundTripper
	mu    sync.Mutex
	log   []string
}

func (s *serverLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	entry := "no answer"
	if err == nil {
		c, cerr := s.store.CountEvents(r.Context())
		switch {
		case cerr != nil:
			entry = "?"
		case resp.Header.Get(idempotency.ReplayedHeader) == "true":
			entry = fmt.Sprintf("key already done: replays the stored 201 (events stored: %d)", c.Effects)
		case r.Header.Get(idempotency.KeyHeader) != "":
			entry = fmt.Sprintf("claims the key, stores event %d and its response in one transaction", c.Effects)
		default:
			entry = fmt.Sprintf("stores event %d", c.Effects)
		}
	}
	s.mu.Lock()
	s.log = append(s.log, entry)
	s.mu.Unlock()
	return resp, err
}

func (s *serverLog) entry(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < len(s.log) {
		return s.log[i]
	}
	return "?"
}

func (tr Trace) diagram(key string) string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n    participant P as producer\n    participant A as ingestion API\n    participant D as database\n")
	hdr := "no Idempotency-Key"
	if tr.UseKey {
		hdr = "Idempotency-Key: " + key[:8] + "…"
	}
	for i, a := range tr.Attempts {
		label := fmt.Sprintf("attempt %d: POST /events (%s)", a.N, hdr)
		switch a.Fault {
		case idempotency.DropRequest:
			fmt.Fprintf(&b, "    P-xA: %s\n    Note over P,A: connection reset: the request never arrived\n", label)
		case idempotency.LoseResponse:
			fmt.Fprintf(&b, "    P->>A: %s\n    A->>D: %s\n    A--xP: 201 lost: connection reset\n", label, tr.Server[i])
		default:
			fmt.Fprintf(&b, "    P->>A: %s\n    A->>D: %s\n    A-->>P: %d%s\n", label, tr.Server[i], a.Status, map[bool]string{true: " (replayed)", false: ""}[a.Replayed])
		}
		if a.Backoff > 0 {
			fmt.Fprintf(&b, "    Note over P: no answer: back off %.1f ms (jittered), then retry\n", float64(a.Backoff.Microseconds())/1000)
		}
	}
	fmt.Fprintf(&b, "    Note over D: events stored for this one reading: %d\n", tr.Effects)
	return b.String()
}

package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dsgym/dsgym/pkg/idempotency"
	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
	"github.com/dsgym/dsgym/pkg/idempotency/storetest"
	"github.com/dsgym/dsgym/pkg/sim"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

var modes = []idempotency.Mode{idempotency.TwoTransactions, idempotency.OneTransaction}

// forEachSetup runs fn per engine and mode.
func forEachSetup(t *testing.T, fn func(t *testing.T, s *idempotency.Store, mode idempotency.Mode)) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		for _, m := range modes {
			t.Run(strings.ReplaceAll(m.String(), " ", "-"), func(t *testing.T) {
				st := storetest.Open(t, s.Engine())
				fn(t, st, m)
			})
		}
	})
}

type response struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, method, url string, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "<none>" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, string(b), resp.Header}
}

func postEvent(t *testing.T, base, key, id string) response {
	t.Helper()
	return do(t, "POST", base+"/events", fmt.Sprintf(`{"id":%q,"source":"test","type":"reading","data":{"v":1}}`, id), map[string]string{idempotency.KeyHeader: key})
}

func quiet(string, ...any) {}

func serve(t *testing.T, s *idempotency.Store, opts *idempotency.Options, work time.Duration) *idempotency.Server {
	t.Helper()
	if opts != nil && opts.Logf == nil {
		opts.Logf = quiet
	}
	srv, err := idempotency.Start(idempotency.ServerConfig{Store: s, Idempotency: opts, Work: work})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv
}

func effects(t *testing.T, s *idempotency.Store) idempotency.EventCounts {
	t.Helper()
	c, err := s.CountEvents(context.Background())
	require.NoError(t, err)
	return c
}

func TestARetryGetsTheStoredResponseAndNoSecondEffect(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s *idempotency.Store, mode idempotency.Mode) {
		srv := serve(t, s, &idempotency.Options{Mode: mode}, 0)
		first := postEvent(t, srv.URL, "key-1", "ev-1")
		require.Equal(t, http.StatusCreated, first.status, first.body)
		assert.Equal(t, "", first.header.Get(idempotency.ReplayedHeader))
		again := postEvent(t, srv.URL, "key-1", "ev-1")
		require.Equal(t, http.StatusCreated, again.status, again.body)
		assert.Equal(t, first.body, again.body, "the replay is byte for byte the first response")
		assert.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
		assert.Equal(t, "true", again.header.Get(idempotency.ReplayedHeader))
		quoted := postEvent(t, srv.URL, `"key-1"`, "ev-1")
		assert.Equal(t, first.body, quoted.body, "a quoted key (structured field form) is the same key")
		assert.EqualValues(t, 1, effects(t, s).Effects)
		st := srv.Middleware().Stats()
		assert.EqualValues(t, 1, st.Claimed)
		assert.EqualValues(t, 2, st.Replayed)
	})
}

func TestTheSameKeyWithAnotherPayloadIsRejected(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s *idempotency.Store, mode idempotency.Mode) {
		srv := serve(t, s, &idempotency.Options{Mode: mode}, 0)
		require.Equal(t, http.StatusCreated, postEvent(t, srv.URL, "key-1", "ev-1").status)
		r := postEvent(t, srv.URL, "key-1", "ev-2")
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, r.body)
		assert.Contains(t, r.body, "different request")
		assert.EqualValues(t, 1, effects(t, s).Effects)
	})
}

func TestBadInputGetsAClear4xx(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	srv := serve(t, s, &idempotency.Options{MaxBody: 256}, 0)
	good := `{"id":"e","source":"s","type":"t"}`
	for _, tt := range []struct {
		name, body string
		header     map[string]string
		status     int
		says       string
	}{
		{"a missing key", good, map[string]string{}, 400, "missing Idempotency-Key"},
		{"an empty key", good, map[string]string{idempotency.KeyHeader: `""`}, 400, "empty"},
		{"a key with a space", good, map[string]string{idempotency.KeyHeader: "a b"}, 400, "visible ASCII"},
		{"a key over 255 characters", good, map[string]string{idempotency.KeyHeader: strings.Repeat("k", 256)}, 400, "limit is 255"},
		{"an unknown content type", good, map[string]string{idempotency.KeyHeader: "k1", "Content-Type": "text/plain"}, 415, "not supported"},
		{"a body over the limit", `{"id":"` + strings.Repeat("x", 300) + `"}`, map[string]string{idempotency.KeyHeader: "k2"}, 413, "over the limit"},
		{"invalid JSON", `{"id":`, map[string]string{idempotency.KeyHeader: "k3"}, 400, "not"},
		{"an unknown field", `{"id":"e","source":"s","type":"t","colour":"red"}`, map[string]string{idempotency.KeyHeader: "k4"}, 400, "unknown field"},
		{"a missing field", `{"id":"e","source":"s"}`, map[string]string{idempotency.KeyHeader: "k5"}, 400, `is required`},
		{"an empty body", ``, map[string]string{idempotency.KeyHeader: "k6"}, 400, "empty body"},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			r := do(t, "POST", srv.URL+"/events", tt.body, tt.header)
			assert.Equal(t, tt.status, r.status, r.body)
			assert.Contains(t, r.body, tt.says)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		})
	}
	t.Run("rejects two key headers", func(t *testing.T) {
		req, err := http.NewRequest("POST", srv.URL+"/events", strings.NewReader(good))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add(idempotency.KeyHeader, "a")
		req.Header.Add(idempotency.KeyHeader, "b")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode)
	})
	assert.Zero(t, effects(t, s).Effects, "no bad request had an effect")
	t.Run("reads pass through", func(t *testing.T) {
		require.Equal(t, 201, postEvent(t, srv.URL, "ok", "e1").status)
		r := do(t, "GET", srv.URL+"/events/1", "", nil)
		assert.Equal(t, 200, r.status, r.body)
		assert.Contains(t, r.body, `"id":"e1"`)
		assert.Equal(t, 404, do(t, "GET", srv.URL+"/events/99", "", nil).status)
		assert.Equal(t, 400, do(t, "GET", srv.URL+"/events/x", "", nil).status)
	})
}

func TestTheListenerIsLoopbackByDefault(t *testing.T) {
	srv := serve(t, storetest.Open(t, idempotency.SQLite), nil, 0)
	host, _, err := net.SplitHostPort(srv.Addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
}

func TestARetryWhileTheFirstIsInFlight(t *testing.T) {
	for _, tt := range []struct {
		name       string
		opts       idempotency.Options
		secondWant int
		replayed   bool
	}{
		{"gets 409 with Retry-After under the Reject policy", idempotency.Options{Mode: idempotency.TwoTransactions, InFlight: idempotency.Reject}, 409, false},
		{"waits and replays under the Wait policy", idempotency.Options{Mode: idempotency.TwoTransactions, InFlight: idempotency.Wait}, 201, true},
		{"waits for the lock and replays in one-transaction mode", idempotency.Options{Mode: idempotency.OneTransaction}, 201, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
				opts := tt.opts
				srv := serve(t, s, &opts, 300*time.Millisecond)
				first := make(chan response)
				go func() { first <- postEvent(t, srv.URL, "slow", "ev") }()
				time.Sleep(100 * time.Millisecond)
				second := postEvent(t, srv.URL, "slow", "ev")
				f := <-first
				require.Equal(t, 201, f.status, f.body)
				require.Equal(t, tt.secondWant, second.status, second.body)
				if tt.secondWant == 409 {
					assert.Equal(t, "1", second.header.Get("Retry-After"))
				}
				if tt.replayed {
					assert.Equal(t, f.body, second.body)
				}
				assert.EqualValues(t, 1, effects(t, s).Effects)
			})
		})
	}
}

// flaky is a handler that writes an event in the request's transaction and
// fails the first `fails` times: with a 500, or with a panic.
type flaky struct {
	store *idempotency.Store
	fails int32
	panic bool
	calls atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.calls.Add(1)
	tx, ok, err := idempotency.RequestTx(r)
	if err != nil || !ok {
		http.Error(w, fmt.Sprint("no transaction: ", err), 500)
		return
	}
	if _, err := tx.ExecContext(r.Context(), `INSERT INTO events (event_id, source, type, received_at) VALUES ('e', 's', 't', 0)`); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if n <= f.fails {
		if f.panic {
			panic("the handler broke")
		}
		http.Error(w, "temporary failure", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	fmt.Fprintf(w, `{"call":%d}`, n)
}

func TestARequestThatFailedCanBeRetried(t *testing.T) {
	for _, panics := range []bool{false, true} {
		name := map[bool]string{false: "after a 503", true: "after a panic"}[panics]
		t.Run(name, func(t *testing.T) {
			forEachSetup(t, func(t *testing.T, s *idempotency.Store, mode idempotency.Mode) {
				m, err := idempotency.New(idempotency.Options{Store: s, Mode: mode, Logf: quiet})
				require.NoError(t, err)
				h := &flaky{store: s, fails: 1, panic: panics}
				srv := httptest.NewServer(m.Wrap(h))
				defer srv.Close()
				key := map[string]string{idempotency.KeyHeader: "k"}
				r := do(t, "POST", srv.URL, `{"x":1}`, key)
				assert.Contains(t, []int{500, 503}, r.status, r.body)
				assert.Zero(t, effects(t, s).Effects, "the failed attempt's write was rolled back")
				r = do(t, "POST", srv.URL, `{"x":1}`, key)
				require.Equal(t, 201, r.status, r.body)
				assert.Equal(t, `{"call":2}`, r.body)
				r = do(t, "POST", srv.URL, `{"x":1}`, key)
				assert.Equal(t, `{"call":2}`, r.body, "then it is replayed")
				assert.EqualValues(t, 1, effects(t, s).Effects)
				// In one-transaction mode the claim happens at the handler's first
				// RequestTx, so a replay runs the handler up to there (and no further).
				wantCalls := map[idempotency.Mode]int32{idempotency.TwoTransactions: 2, idempotency.OneTransaction: 3}[mode]
				assert.Equal(t, wantCalls, h.calls.Load())
			})
		})
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestAClaimLeftByACrashIsTakenOverWhenItsLeaseEnds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		clk := &clock{t: t0}
		srv := serve(t, s, &idempotency.Options{Mode: idempotency.TwoTransactions, Lease: 5 * time.Second, Now: clk.Now}, 0)
		body := `{"id":"ev","source":"test","type":"reading","data":{"v":1}}`
		hash, err := solution.RequestHash("POST", "/events", []byte(body))
		require.NoError(t, err)
		// A server claimed the key, then died before storing anything.
		c, err := solution.Claim(context.Background(), s.Querier(), dedupe.Request{Key: "k", Hash: hash, Lease: "dead", Now: t0, TTL: time.Hour, LeaseFor: 5 * time.Second})
		require.NoError(t, err)
		require.Equal(t, dedupe.Claimed, c.Outcome)
		key := map[string]string{idempotency.KeyHeader: "k"}
		assert.Equal(t, 409, do(t, "POST", srv.URL+"/events", body, key).status, "while the lease runs, the key is in flight")
		clk.Add(6 * time.Second)
		r := do(t, "POST", srv.URL+"/events", body, key)
		assert.Equal(t, 201, r.status, "after the lease, a retry takes over: %s", r.body)
		assert.EqualValues(t, 1, effects(t, s).Effects)
	})
}

func TestMiddlewareRejectsBadOptions(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	for _, tt := range []struct {
		name string
		opts idempotency.Options
	}{
		{"no store", idempotency.Options{}},
		{"a lease longer than the TTL", idempotency.Options{Store: s, TTL: time.Second, Lease: time.Minute}},
		{"a negative TTL", idempotency.Options{Store: s, TTL: -time.Second}},
		{"a negative key length", idempotency.Options{Store: s, MaxKeyLen: -1}},
		{"a negative body limit", idempotency.Options{Store: s, MaxBody: -1}},
		{"an unknown policy", idempotency.Options{Store: s, InFlight: 7}},
		{"an unknown mode", idempotency.Options{Store: s, Mode: 7}},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, err := idempotency.New(tt.opts)
			require.Error(t, err)
		})
	}
	t.Run("start rejects no store", func(t *testing.T) {
		_, err := idempotency.Start(idempotency.ServerConfig{})
		require.Error(t, err)
	})
	t.Run("start rejects a negative work time", func(t *testing.T) {
		_, err := idempotency.Start(idempotency.ServerConfig{Store: s, Work: -1})
		require.Error(t, err)
	})
}

func TestABrokenClaimStepGetsA503NotACrash(t *testing.T) {
	s := storetest.Open(t, idempotency.SQLite)
	srv := serve(t, s, &idempotency.Options{Claim: func(context.Context, dedupe.Querier, dedupe.Request) (dedupe.Claim, error) {
		panic("not implemented yet: Claim: ...")
	}}, 0)
	r := postEvent(t, srv.URL, "k", "e")
	assert.Equal(t, 503, r.status, r.body)
}

// storm sends n events through faults with workers senders and returns the
// results; keys are "key-<event id>".
func storm(t *testing.T, url string, faults *idempotency.Faults, n, workers int, keys idempotency.KeyPolicy, onAck func(int)) []idempotency.Result {
	t.Helper()
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: url + "/events", Transport: faults, MaxAttempts: 60,
		BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, AttemptTimeout: 2 * time.Second, Seed: 7, Keys: keys})
	require.NoError(t, err)
	results := make([]idempotency.Result, n)
	errs := make([]error, n)
	var acked atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				id := fmt.Sprintf("ev-%04d", i)
				results[i], errs[i] = c.PostEvent(context.Background(), "key-"+id, idempotency.Event{ID: id, Source: "storm", Type: "reading"})
				if onAck != nil {
					onAck(int(acked.Add(1)))
				}
			}
		}()
	}
	wg.Wait()
	faults.Wait()
	for i, err := range errs {
		require.NoError(t, err, "event %d", i)
	}
	return results
}

func TestAServerRestartedMidStormProcessesEveryKeyExactlyOnce(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s *idempotency.Store, mode idempotency.Mode) {
		opts := idempotency.Options{Mode: mode, Lease: 200 * time.Millisecond, Logf: quiet}
		cfg := idempotency.ServerConfig{Store: s, Idempotency: &opts}
		srv, err := idempotency.Start(cfg)
		require.NoError(t, err)
		cfg.Addr = srv.Addr
		faults := &idempotency.Faults{Seed: 3, DropRequest: 0.1, LoseResponse: 0.1, Timeout: 0.05}
		const n = 300
		var restarted sync.WaitGroup
		restarted.Add(1)
		var once sync.Once
		var srv2 *idempotency.Server
		results := storm(t, srv.URL, faults, n, 8, idempotency.SameKey, func(acked int) {
			if acked == n/3 {
				once.Do(func() {
					go func() {
						defer restarted.Done()
						srv.Crash()
						time.Sleep(30 * time.Millisecond)
						for range 100 { // the port may take a moment to free
							if srv2, err = idempotency.Start(cfg); err == nil {
								return
							}
							time.Sleep(10 * time.Millisecond)
						}
					}()
				})
			}
		})
		restarted.Wait()
		require.NoError(t, err, "restart")
		defer srv2.Close()
		for i, r := range results {
			require.Equal(t, 201, r.Status, "event %d: %s", i, r.Body)
		}
		per, err := s.EffectsPerEvent(context.Background())
		require.NoError(t, err)
		require.Len(t, per, n, "no event lost")
		for id, k := range per {
			require.Equal(t, 1, k, "event %s processed %d times", id, k)
		}
		fc := faults.Counts()
		t.Logf("%s: %d clean attempts, %d requests lost, %d responses lost, %d timeouts", mode, fc.Clean, fc.DroppedRequests, fc.LostResponses, fc.Timeouts)
	})
}

func TestTenThousandConcurrentRetriesOfAThousandKeysMakeAThousandEffects(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	forEachSetup(t, func(t *testing.T, s *idempotency.Store, mode idempotency.Mode) {
		srv := serve(t, s, &idempotency.Options{Mode: mode}, 0)
		rep, err := experiment.ConcurrentRetries(context.Background(), srv.URL, 1000, 10, 100)
		require.NoError(t, err)
		c := effects(t, s)
		assert.EqualValues(t, 1000, c.Effects, "effects")
		assert.EqualValues(t, 1000, c.Distinct)
		assert.Zero(t, rep.Disagreements, "every retry of a key got the same receipt")
		assert.Equal(t, 10000, rep.Created+rep.Replayed, "every request ended with 201")
		t.Logf("%s: %d created, %d replayed, %d answers 409 on the way, %.0f req/s", mode, rep.Created, rep.Replayed, rep.Conflicts, rep.PerSecond)
	})
}

func TestClientRetriesWhatMaySucceedAndStopsOnWhatCannot(t *testing.T) {
	var calls atomic.Int32
	statuses := []int{503, 409, 500, 201}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path == "/bad" {
			w.WriteHeader(422)
			return
		}
		w.WriteHeader(statuses[min(int(n)-1, len(statuses)-1)])
	}))
	defer srv.Close()
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	require.NoError(t, err)
	res, err := c.Post(context.Background(), "r1", "k", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, 201, res.Status)
	assert.Len(t, res.Attempts, 4)
	calls.Store(0)
	c2, err := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL + "/bad"})
	require.NoError(t, err)
	res, err = c2.Post(context.Background(), "r2", "k", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, 422, res.Status)
	assert.Len(t, res.Attempts, 1, "a 422 is not retried")
	c3, err := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL, MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, err)
	calls.Store(0)
	_, err = c3.Post(context.Background(), "r3", "k", []byte(`{}`))
	require.ErrorIs(t, err, idempotency.ErrGaveUp)
}

func TestClientKeyPolicies(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(idempotency.KeyHeader))
		n := len(keys)
		mu.Unlock()
		if n%3 != 0 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(201)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		policy idempotency.KeyPolicy
		want   []string
	}{
		{idempotency.SameKey, []string{"k", "k", "k"}},
		{idempotency.NoKey, []string{"", "", ""}},
		{idempotency.NewKeyPerAttempt, []string{"k", "k-retry-2", "k-retry-3"}},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			keys = nil
			c, err := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL, Keys: tt.policy, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
			require.NoError(t, err)
			_, err = c.Post(context.Background(), "r", "k", []byte(`{}`))
			require.NoError(t, err)
			assert.Equal(t, tt.want, keys)
		})
	}
}

func TestClientRejectsBadConfigurations(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  idempotency.ClientConfig
	}{
		{"no URL", idempotency.ClientConfig{}},
		{"negative attempts", idempotency.ClientConfig{URL: "http://x", MaxAttempts: -1}},
		{"a backoff above its maximum", idempotency.ClientConfig{URL: "http://x", BaseBackoff: time.Second, MaxBackoff: time.Millisecond}},
		{"an unknown key policy", idempotency.ClientConfig{URL: "http://x", Keys: 9}},
		{"fault rates over 1", idempotency.ClientConfig{URL: "http://x", Transport: &idempotency.Faults{DropRequest: 0.7, LoseResponse: 0.7}}},
		{"a negative fault rate", idempotency.ClientConfig{URL: "http://x", Transport: &idempotency.Faults{Timeout: -0.1}}},
	} {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, err := idempotency.NewClient(tt.cfg)
			require.Error(t, err)
		})
	}
	c, err := idempotency.NewClient(idempotency.ClientConfig{URL: "http://127.0.0.1:1"})
	require.NoError(t, err)
	_, err = c.Post(context.Background(), "", "k", nil)
	require.Error(t, err, "an empty request id")
	_, err = c.Post(context.Background(), "r", "", nil)
	require.Error(t, err, "an empty key with the SameKey policy")
}

func TestBackoffIsJitteredBoundedAndRepeatable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	run := func(seed uint64) []time.Duration {
		c, err := idempotency.NewClient(idempotency.ClientConfig{URL: srv.URL, MaxAttempts: 6, BaseBackoff: 100 * time.Microsecond, MaxBackoff: 800 * time.Microsecond, Seed: seed})
		require.NoError(t, err)
		res, err := c.Post(context.Background(), "r", "k", nil)
		require.ErrorIs(t, err, idempotency.ErrGaveUp)
		var out []time.Duration
		for i, a := range res.Attempts {
			ceiling := min(800*time.Microsecond, 100*time.Microsecond<<i)
			if i < 5 {
				assert.Less(t, a.Backoff, ceiling, "attempt %d", i+1)
			}
			out = append(out, a.Backoff)
		}
		assert.Zero(t, out[5], "no sleep after the last attempt")
		return out
	}
	a, b, c := run(1), run(1), run(2)
	assert.Equal(t, a, b, "same seed, same sleeps")
	assert.NotEqual(t, a, c, "another seed, other sleeps")
}

func TestFaultsAreRepeatableAndHaveTheirRates(t *testing.T) {
	f := &idempotency.Faults{Seed: 9, DropRequest: 0.2, LoseResponse: 0.1, Timeout: 0.05}
	counts := map[idempotency.Fault]int{}
	for i := range 20000 {
		id := fmt.Sprint("r", i)
		got := f.Decide(id, 1)
		require.Equal(t, got, f.Decide(id, 1))
		counts[got]++
	}
	assert.InDelta(t, 0.2, float64(counts[idempotency.DropRequest])/20000, 0.01)
	assert.InDelta(t, 0.1, float64(counts[idempotency.LoseResponse])/20000, 0.01)
	assert.InDelta(t, 0.05, float64(counts[idempotency.Timeout])/20000, 0.01)
	other := &idempotency.Faults{Seed: 10, DropRequest: 0.2, LoseResponse: 0.1, Timeout: 0.05}
	differ := 0
	for i := range 1000 {
		if f.Decide(fmt.Sprint("r", i), 1) != other.Decide(fmt.Sprint("r", i), 1) {
			differ++
		}
	}
	assert.Greater(t, differ, 100, "another seed draws other faults")
}

func TestALostResponseWasProcessedAndADroppedRequestWasNot(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(201)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		fault idempotency.Fault
		f     *idempotency.Faults
		hits  int32
	}{
		{idempotency.DropRequest, &idempotency.Faults{DropRequest: 1}, 0},
		{idempotency.LoseResponse, &idempotency.Faults{LoseResponse: 1}, 1},
		{idempotency.Timeout, &idempotency.Faults{Timeout: 1}, 1},
	} {
		t.Run(tt.fault.String(), func(t *testing.T) {
			hits.Store(0)
			req, err := http.NewRequestWithContext(idempotency.WithAttempt(context.Background(), "r", 1), "POST", srv.URL, bytes.NewReader([]byte("{}")))
			require.NoError(t, err)
			_, err = (&http.Client{Transport: tt.f}).Do(req)
			require.Error(t, err)
			got, ok := idempotency.IsFault(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, tt.fault, got)
			tt.f.Wait()
			assert.Equal(t, tt.hits, hits.Load(), "requests that reached the server")
		})
	}
}

func TestParseKey(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		max  int
		want string
		ok   bool
	}{
		{[]string{"8e03978e-40d5-43e8-bc93-6894a57f9324"}, 255, "8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{[]string{`"abc"`}, 10, "abc", true},
		{[]string{" abc "}, 10, "abc", true},
		{[]string{strings.Repeat("x", 10)}, 10, strings.Repeat("x", 10), true},
		{nil, 10, "", false},
		{[]string{""}, 10, "", false},
		{[]string{`""`}, 10, "", false},
		{[]string{"a", "b"}, 10, "", false},
		{[]string{"tab\there"}, 10, "", false},
		{[]string{"a b"}, 10, "", false},
		{[]string{"é"}, 10, "", false},
		{[]string{strings.Repeat("x", 11)}, 10, "", false},
		{[]string{"a"}, 0, "", false},
	} {
		got, err := idempotency.ParseKey(tt.in, tt.max)
		if !tt.ok {
			assert.Error(t, err, "ParseKey(%q, %d)", tt.in, tt.max)
			continue
		}
		require.NoError(t, err, "ParseKey(%q, %d)", tt.in, tt.max)
		assert.Equal(t, tt.want, got)
	}
}

func TestNewKeyIsAVersion4UUIDFromTheSeed(t *testing.T) {
	a, err := idempotency.NewKey(sim.NewRand(1, "keys"))
	require.NoError(t, err)
	b, err := idempotency.NewKey(sim.NewRand(1, "keys"))
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, a)
	_, err = idempotency.NewKey(nil)
	require.Error(t, err)
}

func TestEventsAPIWorksWithoutTheMiddleware(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, s *idempotency.Store) {
		srv := serve(t, s, nil, 0)
		for range 2 {
			r := postEvent(t, srv.URL, "", "same")
			require.Equal(t, 201, r.status, r.body)
			var rec idempotency.Receipt
			require.NoError(t, json.Unmarshal([]byte(r.body), &rec))
		}
		c := effects(t, s)
		assert.EqualValues(t, 2, c.Effects, "without the middleware a retry is a second effect")
		assert.EqualValues(t, 1, c.Duplicates())
	})
}

func newSeeded(seed uint64) *rand.Rand { return sim.NewRand(seed, "example-keys") }

func TestNilValuesGiveErrorsNotPanics(t *testing.T) {
	ctx := context.Background()
	var s *idempotency.Store
	_, err := s.Begin(ctx)
	assert.Error(t, err)
	assert.Error(t, s.Complete(ctx, nil, "k", "l", dedupe.Response{Status: 200}))
	assert.Error(t, s.Release(ctx, "k", "l"))
	_, _, err = s.Lookup(ctx, "k")
	assert.Error(t, err)
	_, err = s.Stats(ctx)
	assert.Error(t, err)
	_, err = s.CountEvents(ctx)
	assert.Error(t, err)
	_, err = s.EffectsPerEvent(ctx)
	assert.Error(t, err)
	assert.Nil(t, s.Querier())
	assert.NoError(t, s.Close())
	var tx *idempotency.Tx
	assert.Error(t, tx.Commit())
	assert.NoError(t, tx.Rollback())
	_, err = tx.ExecContext(ctx, "SELECT 1")
	assert.Error(t, err)
	var c *idempotency.Client
	_, err = c.Post(ctx, "r", "k", nil)
	assert.Error(t, err)
	var f *idempotency.Faults
	_, err = f.RoundTrip(httptest.NewRequest("POST", "/", nil))
	assert.Error(t, err)
	assert.Equal(t, idempotency.NoFault, f.Decide("r", 1))
	f.Wait()
	var m *idempotency.Middleware
	rec := httptest.NewRecorder()
	m.Wrap(nil).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, 500, rec.Code)
	var sw *idempotency.Sweeper
	_, err = sw.SweepOnce(ctx)
	assert.Error(t, err)
	sw.Stop()
	var srv *idempotency.Server
	assert.NoError(t, srv.Close())
	srv.Crash()
	_, err = idempotency.NewEventsAPI(nil, 0, 0, nil)
	assert.Error(t, err)
}

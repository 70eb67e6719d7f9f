package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
	solution "github.com/dsgym/dsgym/solutions/idempotency"
)

// InFlightPolicy says what a request does when another request holding
// the same key has not finished yet.
type InFlightPolicy int

// The in-flight policies.
const (
	// Reject answers 409 Conflict with Retry-After: the client retries
	// later and then gets the stored response (Stripe, the IETF draft).
	Reject InFlightPolicy = iota
	// Wait polls until the first request finishes (then replays its
	// response), or until Options.WaitFor has passed (then 409).
	Wait
)

// Mode says how a claim and the handler's writes are grouped into
// transactions.
type Mode int

// The modes.
const (
	// TwoTransactions commits the claim first, then runs the handler, then
	// stores the response in a second transaction together with the
	// handler's own writes (see [RequestTx]). A retry that arrives
	// meanwhile sees the key in flight (409, or a wait: see [Wait]). It
	// suits any handler, including ones with side effects outside the
	// database; a crash leaves the claim in flight until its lease runs
	// out, and a retry then takes it over.
	TwoTransactions Mode = iota
	// OneTransaction claims the key inside the handler's own transaction,
	// begun at the handler's first [RequestTx] call, and stores the
	// response in it: claim, side effects and result commit together, or
	// not at all (a crash rolls everything back and leaves nothing to
	// recover). It needs one commit per request instead of two. A retry
	// that arrives while the first is running waits for the database's
	// lock, then replays. Only for handlers whose side effects are all in
	// the store's database.
	OneTransaction
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case TwoTransactions:
		return "two transactions"
	case OneTransaction:
		return "one transaction"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure the idempotency middleware.
type Options struct {
	// Mode groups the claim and the handler's writes (default
	// TwoTransactions).
	Mode Mode
	// Store holds the dedupe table (required).
	Store *Store
	// TTL is how long a key is remembered (default 24 h).
	TTL time.Duration
	// Lease is how long a claim holds before another request may take the
	// key over, presuming the holder dead (default 30 s). Keep it well
	// above the slowest processing time.
	Lease time.Duration
	// InFlight is the policy for retries that arrive while the first
	// request is still processing (default Reject). In OneTransaction mode
	// such retries wait for the database's lock instead.
	InFlight InFlightPolicy
	// WaitFor bounds the wait of the Wait policy (default 5 s).
	WaitFor time.Duration
	// MaxKeyLen is the longest key accepted (default 255).
	MaxKeyLen int
	// MaxBody is the largest body accepted, in bytes (default 1 MiB).
	MaxBody int64
	// Methods are the methods made idempotent (default POST and PATCH;
	// GET, PUT and DELETE are idempotent by definition and pass through).
	Methods []string
	// Claim is the claim-or-replay step (default: the reference solution;
	// the notebook plugs in yours).
	Claim dedupe.ClaimFunc
	// Hash fingerprints requests (default: the reference solution).
	Hash dedupe.HashFunc
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Context bounds the middleware's own database work (claims, storing
	// results): cancelling it stands for the process dying. Default:
	// context.Background().
	Context context.Context
	// Logf logs unexpected errors (default log.Printf; use a no-op to
	// silence).
	Logf func(format string, args ...any)
}

func (o *Options) setDefaults() error {
	if o.Store == nil {
		return errors.New("idempotency middleware: no store")
	}
	if o.TTL == 0 {
		o.TTL = 24 * time.Hour
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.WaitFor == 0 {
		o.WaitFor = 5 * time.Second
	}
	if o.MaxKeyLen == 0 {
		o.MaxKeyLen = DefaultMaxKeyLen
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{http.MethodPost, http.MethodPatch}
	}
	if o.Claim == nil {
		o.Claim = solution.Claim
	}
	if o.Hash == nil {
		o.Hash = solution.RequestHash
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	switch {
	case o.TTL < 0 || o.Lease < 0 || o.WaitFor < 0:
		return fmt.Errorf("idempotency middleware: TTL (%v), Lease (%v) and WaitFor (%v) must be positive", o.TTL, o.Lease, o.WaitFor)
	case o.Lease > o.TTL:
		return fmt.Errorf("idempotency middleware: Lease (%v) must not exceed TTL (%v)", o.Lease, o.TTL)
	case o.MaxKeyLen < 1:
		return fmt.Errorf("idempotency middleware: MaxKeyLen must be at least 1, got %d", o.MaxKeyLen)
	case o.MaxBody < 1:
		return fmt.Errorf("idempotency middleware: MaxBody must be at least 1, got %d", o.MaxBody)
	case o.InFlight != Reject && o.InFlight != Wait:
		return fmt.Errorf("idempotency middleware: unknown in-flight policy %d", o.InFlight)
	case o.Mode != TwoTransactions && o.Mode != OneTransaction:
		return fmt.Errorf("idempotency middleware: unknown mode %d", o.Mode)
	}
	return nil
}

// Middleware makes HTTP handlers idempotent with an Idempotency-Key header
// and the dedupe table of a [Store]. For each POST (or PATCH) it:
//
//  1. validates the key (400 when missing or malformed) and reads the JSON
//     body (415 for another content type, 413 when too large, 400 when
//     not JSON);
//  2. fingerprints the request and claims the key atomically (see
//     dedupe.ClaimFunc), before the handler runs ([TwoTransactions]) or
//     in the handler's transaction ([OneTransaction]);
//  3. answers a key used with another request with 422, a key still in
//     flight with 409 (or waits, see [Wait]), a completed key with the
//     stored response (and Idempotent-Replayed: true);
//  4. for a claimed key, runs the handler, then stores its response in the
//     same transaction as the handler's writes (see [RequestTx]) and
//     commits both, fenced by the claim's lease;
//  5. when the handler fails (5xx, 408, 429, or a panic), rolls its writes
//     back and releases the key, so that a retry runs afresh; unless the
//     handler recorded a recovery point ([Checkpoint]) before calling out
//     of the database: then the key is kept with it, and the retry
//     resumes from there ([Recovered]).
type Middleware struct {
	o        Options
	instance string
	leases   atomic.Uint64
	stats    struct {
		claimed, replayed, conflicts, mismatches, released, leaseLost, rejected, kept atomic.Int64
	}
}

// New returns a middleware with the options (defaults filled in).
func New(opts Options) (*Middleware, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	// The instance id keeps lease tokens unique across restarts: a restarted
	// server must never complete a claim made before its crash.
	return &Middleware{o: opts, instance: randomHex(6)}, nil
}

// Options returns the middleware's options, defaults filled in.
func (m *Middleware) Options() Options {
	if m == nil {
		return Options{}
	}
	return m.o
}

// MiddlewareStats counts what the middleware did.
type MiddlewareStats struct {
	Claimed    int64 // requests that claimed their key and ran the handler
	Replayed   int64 // retries answered from the dedupe table
	Conflicts  int64 // 409: the key was in flight (or its lease was lost)
	Mismatches int64 // 422: the key came with a different request
	Released   int64 // handler failures whose claim was released for a retry
	Kept       int64 // of those, the claims kept with their recovery point (see Checkpoint)
	LeaseLost  int64 // results not stored because the claim was taken over
	Rejected   int64 // 4xx before any claim: bad key, body or content type
}

// Stats returns the counts so far.
func (m *Middleware) Stats() MiddlewareStats {
	if m == nil {
		return MiddlewareStats{}
	}
	s := &m.stats
	return MiddlewareStats{s.claimed.Load(), s.replayed.Load(), s.conflicts.Load(), s.mismatches.Load(), s.released.Load(), s.kept.Load(), s.leaseLost.Load(), s.rejected.Load()}
}

// Wrap returns next made idempotent.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	if m == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusInternalServerError, "the idempotency middleware is not configured (nil *Middleware; use idempotency.New)")
		})
	}
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(w, r, next) })
}

func (m *Middleware) applies(method string) bool {
	for _, x := range m.o.Methods {
		if x == method {
			return true
		}
	}
	return false
}

// dbContext is the context of the middleware's own database work: not
// cancelled when the client goes away (the result should still be stored
// for its retry), cancelled at once when the middleware's Context is (the
// process "dies").
func (m *Middleware) dbContext(*http.Request) (context.Context, context.CancelFunc) {
	return context.WithCancel(m.o.Context)
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !m.applies(r.Method) {
		next.ServeHTTP(w, r)
		return
	}
	key, err := ParseKey(r.Header.Values(KeyHeader), m.o.MaxKeyLen)
	if err != nil {
		m.stats.rejected.Add(1)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := readJSONBody(w, r, m.o.MaxBody)
	if err != nil {
		m.stats.rejected.Add(1)
		status := http.StatusBadRequest
		var be *bodyError
		if errors.As(err, &be) {
			status = be.status
		}
		writeError(w, status, err.Error())
		return
	}
	hash, err := m.hash(r.Method, r.URL.RequestURI(), body)
	if err != nil {
		m.stats.rejected.Add(1)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := m.dbContext(r)
	defer cancel()
	req := dedupe.Request{
		Key: key, Hash: hash, Lease: m.instance + "-" + strconv.FormatUint(m.leases.Add(1), 10),
		TTL: m.o.TTL, LeaseFor: m.o.Lease,
	}
	// The wait is bounded in real time (an injected clock may stand still).
	deadline := time.Now().Add(m.o.WaitFor)
	pause := time.Millisecond
	for {
		req.Now = m.o.Now()
		// In OneTransaction mode the claim happens in the handler's
		// transaction, at its first RequestTx call.
		claim := dedupe.Claim{Outcome: dedupe.Claimed}
		if m.o.Mode == TwoTransactions {
			claim, err = m.claim(ctx, m.o.Store.Querier(), req)
		}
		if err != nil {
			m.o.Logf("idempotency: claim %q: %v", key, err)
			writeError(w, http.StatusServiceUnavailable, "could not check the idempotency key; retry with the same key")
			return
		}
		if claim.Outcome == dedupe.InFlight && m.o.InFlight == Wait && time.Now().Before(deadline) && ctx.Err() == nil {
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
			pause = min(2*pause, 50*time.Millisecond)
			continue
		}
		if claim.Outcome == dedupe.Claimed {
			if m.o.Mode == TwoTransactions {
				m.stats.claimed.Add(1)
			}
			m.process(ctx, w, r, next, req, body)
			return
		}
		m.answer(w, key, claim)
		return
	}
}

// answer responds to a request whose key it did not claim.
func (m *Middleware) answer(w http.ResponseWriter, key string, claim dedupe.Claim) {
	switch claim.Outcome {
	case dedupe.Mismatch:
		m.stats.mismatches.Add(1)
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("%s %q was already used with a different request (method, path or body); use a new key for a new request", KeyHeader, key))
	case dedupe.Replayed:
		m.stats.replayed.Add(1)
		replay(w, claim.Response)
	case dedupe.InFlight:
		m.stats.conflicts.Add(1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusConflict, fmt.Sprintf("a request with %s %q is still being processed; retry later with the same key", KeyHeader, key))
	default:
		m.o.Logf("idempotency: claim %q returned outcome %v", key, claim.Outcome)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("the claim step returned an unknown outcome %v", claim.Outcome))
	}
}

// hash and claim call the pluggable steps, turning a panic into an error.
func (m *Middleware) hash(method, target string, body []byte) (h string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the request hash failed: %v", v)
		}
	}()
	h, err = m.o.Hash(method, target, body)
	if err == nil && h == "" {
		err = errors.New("the request hash is empty")
	}
	return h, err
}

func (m *Middleware) claim(ctx context.Context, q dedupe.Querier, req dedupe.Request) (c dedupe.Claim, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the claim step panicked: %v", v)
		}
	}()
	return m.o.Claim(ctx, q, req)
}

func replay(w http.ResponseWriter, resp dedupe.Response) {
	if resp.ContentType != "" {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	if resp.Reference != "" {
		w.Header().Set("Location", resp.Reference)
	}
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// retryable reports whether a response says the request may succeed if
// repeated: its claim is released rather than stored.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

func (m *Middleware) process(ctx context.Context, w http.ResponseWriter, r *http.Request, next http.Handler, req dedupe.Request, body []byte) {
	holder := &txHolder{m: m, ctx: ctx, req: req}
	rec := newRecorder()
	r2 := r.WithContext(context.WithValue(r.Context(), txKey{}, holder))
	r2.Body = readCloser{bytes.NewReader(body)}
	r2.ContentLength = int64(len(body))
	func() {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				m.o.Logf("idempotency: handler panicked on key %q: %v", req.Key, v)
				rec.reset()
				writeError(rec, http.StatusInternalServerError, "the handler failed; retry with the same key")
			}
		}()
		next.ServeHTTP(rec, r2)
	}()
	if lost, ok := holder.notClaimed(); ok {
		// OneTransaction: the claim in the handler's transaction found the
		// key taken (a concurrent request finished first); the handler's
		// work was rolled back.
		m.answer(w, req.Key, lost)
		return
	}
	status := rec.statusCode()
	if retryable(status) {
		holder.rollback()
		m.releaseOrKeep(ctx, holder, req)
		m.stats.released.Add(1)
		rec.flushTo(w)
		return
	}
	tx, err := holder.get()
	if lost, ok := holder.notClaimed(); ok {
		m.answer(w, req.Key, lost)
		return
	}
	if err != nil {
		m.fail(ctx, w, holder, req, fmt.Errorf("begin: %w", err))
		return
	}
	resp := dedupe.Response{Status: status, ContentType: rec.header.Get("Content-Type"), Body: rec.body.Bytes(), Reference: rec.header.Get("Location")}
	if err := m.o.Store.Complete(ctx, tx, req.Key, req.Lease, resp); err != nil {
		holder.rollback()
		if errors.Is(err, ErrLeaseLost) {
			m.stats.leaseLost.Add(1)
			m.stats.conflicts.Add(1)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusConflict, fmt.Sprintf("the claim on %s %q was taken over by a retry while this request ran; its work was rolled back; retry with the same key for the result", KeyHeader, req.Key))
			return
		}
		m.fail(ctx, w, holder, req, err)
		return
	}
	if err := holder.commit(); err != nil {
		m.fail(ctx, w, holder, req, fmt.Errorf("commit: %w", err))
		return
	}
	rec.flushTo(w)
}

// fail answers 503 after releasing the claim: nothing was stored.
func (m *Middleware) fail(ctx context.Context, w http.ResponseWriter, holder *txHolder, req dedupe.Request, err error) {
	m.o.Logf("idempotency: key %q: %v", req.Key, err)
	m.releaseOrKeep(ctx, holder, req)
	m.stats.released.Add(1)
	writeError(w, http.StatusServiceUnavailable, "the result could not be stored; retry with the same key")
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// txKey is the context key of a request's transaction holder.
type txKey struct{}

// ErrNotClaimed is returned by [RequestTx] in OneTransaction mode when the
// request's key turned out to be taken by a concurrent request: the
// handler must return at once (its response is replaced).
var ErrNotClaimed = errors.New("the idempotency key was taken by a concurrent request; return now")

// txHolder begins the request's transaction on first use (and, in
// OneTransaction mode, claims the key in it).
type txHolder struct {
	m     *Middleware
	ctx   context.Context
	req   dedupe.Request
	mu    sync.Mutex
	tx    *Tx
	err   error
	ended bool
	lost  *dedupe.Claim // OneTransaction: what the claim found instead
	// checkpointed: the handler recorded a recovery point (see
	// Checkpoint), so a failure keeps the claim instead of releasing it.
	checkpointed bool
}

func (h *txHolder) get() (*Tx, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return nil, errors.New("the request's transaction has ended")
	}
	if h.tx != nil || h.err != nil {
		return h.tx, h.err
	}
	tx, err := h.m.o.Store.Begin(h.ctx)
	if err != nil {
		h.err = err
		return nil, err
	}
	if h.m.o.Mode == OneTransaction {
		req := h.req
		req.Now = h.m.o.Now()
		c, err := h.m.claim(h.ctx, tx, req)
		if err == nil && c.Outcome != dedupe.Claimed {
			h.lost, err = &c, ErrNotClaimed
		}
		if err == nil {
			h.m.stats.claimed.Add(1)
		}
		if err != nil {
			_ = tx.Rollback()
			h.err = err
			return nil, err
		}
	}
	h.tx = tx
	return tx, nil
}

func (h *txHolder) notClaimed() (dedupe.Claim, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost == nil {
		return dedupe.Claim{}, false
	}
	return *h.lost, true
}

func (h *txHolder) rollback() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	if h.tx != nil {
		_ = h.tx.Rollback()
	}
}

func (h *txHolder) commit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	if h.tx == nil {
		return errors.New("no transaction")
	}
	return h.tx.Commit()
}

// RequestTx returns the transaction of a request running under the
// middleware: begun on first call, committed by the middleware together
// with the stored response (or rolled back when the handler fails or the
// claim was lost). Write the request's side effects in it, and do not
// commit it yourself. Call it just before the first write: in
// OneTransaction mode it claims the key, and it returns [ErrNotClaimed]
// when a concurrent request holds it (return at once). ok is false when
// the request is not under the middleware; the handler then uses a
// transaction of its own.
func RequestTx(r *http.Request) (tx *Tx, ok bool, err error) {
	h, _ := r.Context().Value(txKey{}).(*txHolder)
	if h == nil {
		return nil, false, nil
	}
	tx, err = h.get()
	return tx, true, err
}

// recorder buffers a handler's response so that it can be stored before
// it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

func (r *recorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (r *recorder) reset() {
	r.header, r.status = http.Header{}, 0
	r.body.Reset()
}

func (r *recorder) flushTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.statusCode())
	_, _ = w.Write(r.body.Bytes())
}

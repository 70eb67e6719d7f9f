package idempotency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"time"
)

// KeyPolicy says how a client uses idempotency keys across retries.
type KeyPolicy int

// The key policies.
const (
	// SameKey sends one key per logical request and the same key with every
	// retry of it: the correct use.
	SameKey KeyPolicy = iota
	// NoKey sends no Idempotency-Key header.
	NoKey
	// NewKeyPerAttempt makes a new key for every attempt: a common bug,
	// exactly as bad as sending none.
	NewKeyPerAttempt
)

// String names the policy.
func (p KeyPolicy) String() string {
	switch p {
	case SameKey:
		return "same key on every retry"
	case NoKey:
		return "no key"
	case NewKeyPerAttempt:
		return "new key on every retry"
	}
	return fmt.Sprintf("KeyPolicy(%d)", int(p))
}

// ClientConfig configures a [Client].
type ClientConfig struct {
	// URL is the endpoint, e.g. server.URL + "/events" (required).
	URL string
	// Transport sends the requests (default: a pooled transport; put a
	// [Faults] here to inject faults).
	Transport http.RoundTripper
	// MaxAttempts bounds the attempts per request (default 8).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff with full
	// jitter: before attempt n+1 the client sleeps a random time in
	// [0, min(MaxBackoff, BaseBackoff·2^(n-1))) (defaults 2 ms and 200 ms).
	BaseBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds each attempt (default 5 s).
	AttemptTimeout time.Duration
	// Seed fixes the jitter: the same seed, request id and attempt number
	// always give the same sleep.
	Seed uint64
	// Keys is the key policy (default SameKey).
	Keys KeyPolicy
}

// Client sends requests with retries, jittered exponential backoff and a
// timeout per attempt. It retries transport errors and the statuses that
// say "try again" (408, 409, 425, 429, 500, 502, 503, 504), never the other
// 4xx (a bad request stays bad).
type Client struct {
	cfg  ClientConfig
	http *http.Client
}

// NewClient returns a client (defaults filled in).
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("client: no URL")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 2 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 200 * time.Millisecond
	}
	if cfg.AttemptTimeout == 0 {
		cfg.AttemptTimeout = 5 * time.Second
	}
	switch {
	case cfg.MaxAttempts < 1:
		return nil, fmt.Errorf("client: MaxAttempts must be at least 1, got %d", cfg.MaxAttempts)
	case cfg.BaseBackoff < 0 || cfg.MaxBackoff < cfg.BaseBackoff:
		return nil, fmt.Errorf("client: need 0 <= BaseBackoff (%v) <= MaxBackoff (%v)", cfg.BaseBackoff, cfg.MaxBackoff)
	case cfg.AttemptTimeout < 0:
		return nil, fmt.Errorf("client: AttemptTimeout must be positive, got %v", cfg.AttemptTimeout)
	case cfg.Keys < SameKey || cfg.Keys > NewKeyPerAttempt:
		return nil, fmt.Errorf("client: unknown key policy %d", cfg.Keys)
	}
	if f, ok := cfg.Transport.(*Faults); ok {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	if cfg.Transport == nil {
		cfg.Transport = NewTransport()
	}
	return &Client{cfg: cfg, http: &http.Client{Transport: cfg.Transport}}, nil
}

// NewTransport returns an HTTP transport that keeps enough idle
// connections for many concurrent requests to one server (the default
// keeps 2, and the rest would open and close a connection per request).
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 512
	return t
}

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() {
	if c != nil {
		c.http.CloseIdleConnections()
	}
}

// Attempt is one try of a request.
type Attempt struct {
	N        int    // from 1
	Status   int    // 0 when no response came back
	Fault    Fault  // the injected fault, if any
	Err      string // the transport error, if any
	Replayed bool   // the response was replayed from the dedupe table
	Key      string // the Idempotency-Key sent ("" for none)
	// Start and Took time the attempt.
	Start time.Time
	Took  time.Duration
	// Backoff is the sleep before the next attempt (0 after the last).
	Backoff time.Duration
}

// Result is the outcome of a request after its retries.
type Result struct {
	Status   int       // the final status (0 when no response ever came)
	Body     []byte    // the final response's body
	Replayed bool      // the final response was a replay
	Attempts []Attempt // every attempt, in order
}

// ErrGaveUp is returned when every attempt failed.
var ErrGaveUp = errors.New("gave up after the last attempt")

// retryStatus reports whether a status says "try again".
func retryStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Post sends body (JSON) to the client's URL with key as its idempotency
// key, retrying as configured. id names the logical request: the fault
// transport and the jitter draw from it, so it must be unique per logical
// request. The error is nil when a final, non-retryable response came
// back (which may still be a 4xx: look at Result.Status).
func (c *Client) Post(ctx context.Context, id, key string, body []byte) (Result, error) {
	if c == nil {
		return Result{}, errors.New("post: no client (nil *Client; use NewClient)")
	}
	if id == "" {
		return Result{}, errors.New("post: empty request id")
	}
	if c.cfg.Keys != NoKey && key == "" {
		return Result{}, fmt.Errorf("post %s: empty idempotency key with policy %q", id, c.cfg.Keys)
	}
	var res Result
	var lastErr error
	for n := 1; n <= c.cfg.MaxAttempts; n++ {
		a := Attempt{N: n}
		switch c.cfg.Keys {
		case SameKey:
			a.Key = key
		case NewKeyPerAttempt:
			a.Key = key
			if n > 1 {
				a.Key = key + "-retry-" + strconv.Itoa(n)
			}
		}
		a.Start = time.Now()
		status, respBody, replayed, err := c.once(ctx, id, n, a.Key, body)
		a.Took = time.Since(a.Start)
		a.Status, a.Replayed = status, replayed
		if err != nil {
			a.Err = err.Error()
			a.Fault, _ = IsFault(err)
			lastErr = err
		} else {
			res.Status, res.Body, res.Replayed = status, respBody, replayed
		}
		done := err == nil && !retryStatus(status)
		if !done && n < c.cfg.MaxAttempts {
			a.Backoff = c.backoff(id, n)
		}
		res.Attempts = append(res.Attempts, a)
		if done {
			return res, nil
		}
		if err == nil {
			lastErr = fmt.Errorf("status %d", status)
		}
		if n == c.cfg.MaxAttempts {
			break
		}
		t := time.NewTimer(a.Backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-t.C:
		}
	}
	return res, fmt.Errorf("post %s: %w (%d attempts): %v", id, ErrGaveUp, c.cfg.MaxAttempts, lastErr)
}

// PostEvent sends one event; see [Client.Post]. The event's ID names the
// logical request.
func (c *Client) PostEvent(ctx context.Context, key string, ev Event) (Result, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Result{}, fmt.Errorf("post event %s: %w", ev.ID, err)
	}
	return c.Post(ctx, ev.ID, key, body)
}

func (c *Client) once(ctx context.Context, id string, n int, key string, body []byte) (int, []byte, bool, error) {
	ctx, cancel := context.WithTimeout(WithAttempt(ctx, id, n), c.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(KeyHeader, key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, false, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, false, err
	}
	return resp.StatusCode, respBody, resp.Header.Get(ReplayedHeader) == "true", nil
}

// backoff is the full-jitter sleep before attempt n+1: deterministic in
// (seed, id, n).
func (c *Client) backoff(id string, n int) time.Duration {
	ceiling := c.cfg.BaseBackoff << min(n-1, 30)
	if ceiling > c.cfg.MaxBackoff || ceiling <= 0 {
		ceiling = c.cfg.MaxBackoff
	}
	if ceiling <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	u := float64(mix(c.cfg.Seed^0x6a09e667f3bcc908^mix(h.Sum64()+uint64(n)))>>11) / (1 << 53)
	return time.Duration(u * float64(ceiling))
}

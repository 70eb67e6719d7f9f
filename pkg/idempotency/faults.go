package idempotency

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
)

// Fault is what a [Faults] transport did to one attempt.
type Fault int

// The faults.
const (
	NoFault Fault = iota
	// DropRequest: the connection reset before the request reached the
	// server. Nothing happened there; a retry is safe even without a key.
	DropRequest
	// LoseResponse: the server processed the request, then the connection
	// reset before the response arrived. The client cannot tell this from
	// DropRequest, and its retry is a duplicate unless deduplicated.
	LoseResponse
	// Timeout: the client gave up waiting while the server was still
	// processing; its retry may arrive while the first is in flight.
	Timeout
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case NoFault:
		return "none"
	case DropRequest:
		return "request lost (connection reset)"
	case LoseResponse:
		return "response lost (connection reset)"
	case Timeout:
		return "timed out"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// FaultError is the error a [Faults] transport returns for an injected
// fault. It unwraps to syscall.ECONNRESET for resets, and reports
// Timeout() for timeouts, like the real errors of net/http.
type FaultError struct {
	Fault Fault // what was injected
}

// Error describes the fault the way net/http would.
func (e *FaultError) Error() string {
	switch e.Fault {
	case Timeout:
		return "injected fault: timeout awaiting response headers"
	default:
		return "injected fault: read tcp: connection reset by peer (" + e.Fault.String() + ")"
	}
}

// Timeout reports whether the fault is a timeout (net.Error).
func (e *FaultError) Timeout() bool { return e.Fault == Timeout }

// Temporary reports true: every injected fault is worth retrying.
func (e *FaultError) Temporary() bool { return true }

// Unwrap returns syscall.ECONNRESET for resets.
func (e *FaultError) Unwrap() error {
	if e.Fault == Timeout {
		return context.DeadlineExceeded
	}
	return syscall.ECONNRESET
}

// Faults is an http.RoundTripper that injects network faults in front of a
// real server: lost requests, lost responses and timeouts, each with a
// probability. Which attempt meets which fault depends only on Seed, the
// logical request's id and the attempt number (see [WithAttempt]), never on
// timing or goroutine scheduling: the same seed gives the same faults.
type Faults struct {
	// Seed decides, with the request's id and attempt number, each
	// attempt's fate.
	Seed uint64
	// DropRequest, LoseResponse and Timeout are probabilities in [0, 1];
	// their sum must be at most 1.
	DropRequest, LoseResponse, Timeout float64
	// Next sends the requests that get through (default
	// http.DefaultTransport).
	Next http.RoundTripper
	// Plan, when set, scripts faults: for the attempts it answers ok, its
	// fault replaces the random draw (for demonstrations).
	Plan func(id string, attempt int) (fault Fault, ok bool)

	counter  atomic.Uint64
	inflight sync.WaitGroup
	counts   [4]atomic.Int64
}

// Validate reports a problem with the probabilities.
func (f *Faults) Validate() error {
	if f == nil {
		return errors.New("faults: nil *Faults")
	}
	for _, p := range []float64{f.DropRequest, f.LoseResponse, f.Timeout} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("fault probabilities must be in [0, 1], got drop=%v lose=%v timeout=%v", f.DropRequest, f.LoseResponse, f.Timeout)
		}
	}
	if s := f.DropRequest + f.LoseResponse + f.Timeout; s > 1+1e-9 {
		return fmt.Errorf("fault probabilities add up to %v, more than 1", s)
	}
	return nil
}

type attemptKey struct{}

type attempt struct {
	id string
	n  int
}

// WithAttempt marks ctx as carrying attempt n (from 1) of the logical
// request id; [Faults] decides its fate from (seed, id, n). The [Client]
// does this for every attempt.
func WithAttempt(ctx context.Context, id string, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, attempt{id, n})
}

// Decide returns the fault for attempt n of request id: a pure function of
// the seed, id and n (or the Plan's choice).
func (f *Faults) Decide(id string, n int) Fault {
	if f == nil {
		return NoFault
	}
	if f.Plan != nil {
		if fault, ok := f.Plan(id, n); ok {
			return fault
		}
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	u := float64(mix(f.Seed^mix(h.Sum64()+uint64(n)))>>11) / (1 << 53)
	switch {
	case u < f.DropRequest:
		return DropRequest
	case u < f.DropRequest+f.LoseResponse:
		return LoseResponse
	case u < f.DropRequest+f.LoseResponse+f.Timeout:
		return Timeout
	}
	return NoFault
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// RoundTrip sends req, or not, according to the fault drawn for it.
func (f *Faults) RoundTrip(req *http.Request) (*http.Response, error) {
	if f == nil {
		return nil, errors.New("faults: nil *Faults")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	next := f.Next
	if next == nil {
		next = http.DefaultTransport
	}
	a, ok := req.Context().Value(attemptKey{}).(attempt)
	if !ok {
		// No attempt identity: fall back to arrival order (repeatable only
		// for one caller at a time).
		a = attempt{"#", int(f.counter.Add(1))}
	}
	fault := f.Decide(a.id, a.n)
	f.counts[fault].Add(1)
	switch fault {
	case DropRequest:
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &FaultError{DropRequest}
	case LoseResponse:
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &FaultError{LoseResponse}
	case Timeout:
		// The request goes on without the client: the server processes it
		// while the client backs off and retries.
		detached := req.Clone(context.WithoutCancel(req.Context()))
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			detached.Body = body
		}
		f.inflight.Add(1)
		go func() {
			defer f.inflight.Done()
			if resp, err := next.RoundTrip(detached); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		return nil, &FaultError{Timeout}
	}
	return next.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the transport
// underneath (so that a server shutting down does not wait for them).
func (f *Faults) CloseIdleConnections() {
	if f == nil {
		return
	}
	next := f.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if c, ok := next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Wait blocks until every request abandoned by a Timeout fault has been
// answered, so that the server's counts are final.
func (f *Faults) Wait() {
	if f != nil {
		f.inflight.Wait()
	}
}

// FaultCounts counts the attempts per fault.
type FaultCounts struct {
	Clean           int64 // attempts sent untouched
	DroppedRequests int64 // attempts lost before the server
	LostResponses   int64 // attempts processed, whose response was lost
	Timeouts        int64 // attempts the client gave up on while the server worked
}

// Counts returns how many attempts met each fault so far.
func (f *Faults) Counts() FaultCounts {
	if f == nil {
		return FaultCounts{}
	}
	return FaultCounts{f.counts[NoFault].Load(), f.counts[DropRequest].Load(), f.counts[LoseResponse].Load(), f.counts[Timeout].Load()}
}

// IsFault reports whether err is an injected fault, and which.
func IsFault(err error) (Fault, bool) {
	var fe *FaultError
	if errors.As(err, &fe) {
		return fe.Fault, true
	}
	return NoFault, false
}

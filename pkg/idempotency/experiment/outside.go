package experiment

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/dsgym/dsgym/pkg/idempotency"
)

// OutsideRun is what one OutsideCall run counted.
type OutsideRun struct {
	Env        string
	Checkpoint bool
	// Statuses are the answers to the first attempt and two retries.
	Statuses []int
	// Charges counts the calls to the outside provider; Handled the
	// attempts that ran the handler.
	Charges, Handled int64
	// Kept counts failed claims the middleware kept with their recovery
	// point instead of releasing them.
	Kept int64
}

// OutsideCall shows why releasing a key on a 5xx is unsafe once the
// handler has called outside the database. Its handler charges a card at
// a provider (counted, not real), then writes the order; the write fails
// on the first attempt, after the charge, with a 503. The client retries
// twice with the same key. Without a recovery point the middleware
// releases the key and the retry charges again; with checkpoint, the
// handler records "charged" and the charge's reference before the write
// ([idempotency.Checkpoint]), the middleware keeps the key, and the retry
// resumes from the point ([idempotency.Recovered]) without a second
// charge. The window left open is between the charge and its checkpoint:
// close it by sending the provider an idempotency key of its own.
func OutsideCall(ctx context.Context, env Env, checkpoint bool) (OutsideRun, error) {
	run := OutsideRun{Env: env.String(), Checkpoint: checkpoint}
	store, err := env.open(ctx)
	if err != nil {
		return run, err
	}
	defer store.Close()
	m, err := idempotency.New(idempotency.Options{Store: store, Mode: idempotency.TwoTransactions})
	if err != nil {
		return run, err
	}
	var charges, handled atomic.Int64
	srv := httptest.NewServer(m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := handled.Add(1)
		ref := ""
		if checkpoint {
			point, data, err := idempotency.Recovered(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if point == "charged" {
				ref = string(data)
			}
		}
		if ref == "" {
			ref = fmt.Sprintf("ch_%d", charges.Add(1)) // the outside call
			if checkpoint {
				if err := idempotency.Checkpoint(r, "charged", []byte(ref)); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
		}
		if n == 1 {
			http.Error(w, "the order could not be written", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"charge":%q}`, ref)
	})))
	defer srv.Close()
	for range 3 {
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/orders", strings.NewReader(`{"order":"o-1","amount":100}`))
		if err != nil {
			return run, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idempotency.KeyHeader, "order-o-1")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return run, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		run.Statuses = append(run.Statuses, resp.StatusCode)
	}
	run.Charges, run.Handled, run.Kept = charges.Load(), handled.Load(), m.Stats().Kept
	return run, nil
}

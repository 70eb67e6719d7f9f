package idempotency

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event is what producers send to the ingestion API: a small CloudEvents-
// like envelope. ID is the producer's own id for the event; the API stores
// it, which is how the experiments count duplicates.
type Event struct {
	ID     string          `json:"id"`             // the producer's id for the event (required)
	Source string          `json:"source"`         // who produced it, e.g. "sensor-7" (required)
	Type   string          `json:"type"`           // what kind of event, e.g. "temperature" (required)
	Data   json.RawMessage `json:"data,omitempty"` // the payload, any JSON value
}

// Validate reports the first problem with the event.
func (e Event) Validate() error {
	for _, f := range []struct{ name, v string }{{"id", e.ID}, {"source", e.Source}, {"type", e.Type}} {
		switch {
		case f.v == "":
			return fmt.Errorf("field %q is required", f.name)
		case len(f.v) > 200:
			return fmt.Errorf("field %q is %d characters long; the limit is 200", f.name, len(f.v))
		}
	}
	return nil
}

// Receipt is the API's answer to an accepted event.
type Receipt struct {
	// Seq is the event's position in the store: one per effect.
	Seq int64  `json:"seq"`
	ID  string `json:"id"` // the producer's id, echoed
}

// EventsAPI is the ingestion API's handler:
//
//	POST /events       store an event: 201 with a Receipt and Location /events/{seq}
//	GET  /events/{seq} read an event back
//	GET  /healthz      200 "ok"
//
// Bad input gets a clear 4xx: 415 for a body that is not JSON, 413 over the
// size limit, 400 for invalid JSON, unknown fields or missing ones. The
// event is written in the request's transaction when it runs under the
// idempotency middleware (see [RequestTx]), so that the event and the
// stored response commit together.
type EventsAPI struct {
	store *Store
	// Work is simulated processing time per event (validation,
	// enrichment...), spent before writing; it widens the window in which
	// retries find the request in flight.
	work    time.Duration
	maxBody int64
	now     func() time.Time
	mux     *http.ServeMux
}

// NewEventsAPI returns the API on store. work is simulated processing time
// per event (0 for none); maxBody bounds request bodies (0: 1 MiB); now is
// the clock (nil: time.Now).
func NewEventsAPI(store *Store, work time.Duration, maxBody int64, now func() time.Time) (*EventsAPI, error) {
	if store == nil {
		return nil, errors.New("events API: no store")
	}
	if work < 0 || maxBody < 0 {
		return nil, fmt.Errorf("events API: work (%v) and maxBody (%d) must not be negative", work, maxBody)
	}
	if maxBody == 0 {
		maxBody = DefaultMaxBody
	}
	if now == nil {
		now = time.Now
	}
	a := &EventsAPI{store: store, work: work, maxBody: maxBody, now: now, mux: http.NewServeMux()}
	a.mux.HandleFunc("POST /events", a.post)
	a.mux.HandleFunc("GET /events/{seq}", a.get)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return a, nil
}

// ServeHTTP routes the request.
func (a *EventsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a == nil {
		writeError(w, http.StatusInternalServerError, "the events API is not configured (nil *EventsAPI; use NewEventsAPI)")
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *EventsAPI) post(w http.ResponseWriter, r *http.Request) {
	body, err := readJSONBody(w, r, a.maxBody)
	if err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			writeError(w, be.status, be.msg)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "empty body: send one JSON event")
		return
	}
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		writeError(w, http.StatusBadRequest, "invalid event: "+err.Error())
		return
	}
	if err := ev.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid event: "+err.Error())
		return
	}
	if a.work > 0 {
		select {
		case <-time.After(a.work):
		case <-r.Context().Done():
			writeError(w, http.StatusServiceUnavailable, "cancelled")
			return
		}
	}
	tx, shared, err := RequestTx(r)
	if err == nil && !shared {
		tx, err = a.store.Begin(r.Context())
		if err == nil {
			defer tx.Rollback()
		}
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "could not store the event: "+err.Error())
		return
	}
	var data sql.NullString
	if len(ev.Data) > 0 {
		data = sql.NullString{String: string(ev.Data), Valid: true}
	}
	var seq int64
	err = tx.QueryRowContext(r.Context(), `INSERT INTO events (event_id, source, type, data, received_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING seq`, ev.ID, ev.Source, ev.Type, data, a.now().UnixMicro()).Scan(&seq)
	if err == nil && !shared {
		err = tx.Commit()
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "could not store the event: "+err.Error())
		return
	}
	w.Header().Set("Location", "/events/"+strconv.FormatInt(seq, 10))
	writeJSON(w, http.StatusCreated, Receipt{Seq: seq, ID: ev.ID})
}

func (a *EventsAPI) get(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not an event number", r.PathValue("seq")))
		return
	}
	var (
		ev   Event
		data sql.NullString
	)
	err = a.store.DB().QueryRowContext(r.Context(), `SELECT event_id, source, type, data FROM events WHERE seq = $1`, seq).
		Scan(&ev.ID, &ev.Source, &ev.Type, &data)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no event %d", seq))
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if data.Valid {
		ev.Data = json.RawMessage(data.String)
	}
	writeJSON(w, http.StatusOK, ev)
}

// ServerConfig configures [Start].
type ServerConfig struct {
	// Addr is where to listen (default 127.0.0.1:0, a free loopback port).
	Addr string
	// Store is the database (required).
	Store *Store
	// Idempotency configures the middleware; nil serves the plain API with
	// no dedupe at all (the baseline the experiments compare with). Its
	// Store and Context are set by Start.
	Idempotency *Options
	// Work is simulated processing time per event.
	Work time.Duration
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
	// SweepEvery runs the TTL sweeper that often (default 1 min; negative:
	// no sweeper). Only with Idempotency.
	SweepEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is a running ingestion API.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Addr is the address it listens on.
	Addr string

	http    *http.Server
	ln      net.Listener
	cancel  context.CancelFunc
	mw      *Middleware
	sweeper *Sweeper
	done    chan struct{}
	once    sync.Once
}

// Start starts the ingestion API on cfg.Addr.
func Start(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("start server: no store")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	api, err := NewEventsAPI(cfg.Store, cfg.Work, cfg.MaxBody, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{cancel: cancel, done: make(chan struct{})}
	var handler http.Handler = api
	if cfg.Idempotency != nil {
		opts := *cfg.Idempotency
		opts.Store, opts.Context = cfg.Store, base
		if opts.Now == nil {
			opts.Now = cfg.Now
		}
		if opts.MaxBody == 0 {
			opts.MaxBody = cfg.MaxBody
		}
		if s.mw, err = New(opts); err != nil {
			cancel()
			return nil, fmt.Errorf("start server: %w", err)
		}
		handler = s.mw.Wrap(api)
		if cfg.SweepEvery == 0 {
			cfg.SweepEvery = time.Minute
		}
		if cfg.SweepEvery > 0 {
			s.sweeper, err = StartSweeper(base, SweeperConfig{Store: cfg.Store, Every: cfg.SweepEvery, Now: s.mw.o.Now, Logf: s.mw.o.Logf})
			if err != nil {
				cancel()
				return nil, fmt.Errorf("start server: %w", err)
			}
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start server: %w", err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.URL = "http://" + s.Addr
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          quietLog(),
	}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// Middleware returns the server's idempotency middleware (nil for the
// plain API).
func (s *Server) Middleware() *Middleware {
	if s == nil {
		return nil
	}
	return s.mw
}

// Close shuts the server down gracefully: it stops accepting, lets
// requests in progress finish (up to 5 s, then cuts them), then stops the
// sweeper.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = s.http.Shutdown(ctx); err != nil {
			_ = s.http.Close()
		}
		s.cancel()
		if s.sweeper != nil {
			s.sweeper.Stop()
		}
		<-s.done
	})
	return err
}

// Crash stops the server abruptly, as if its process died: every request
// in progress is cancelled (its transaction rolls back, nothing more is
// stored) and every connection is closed. Claims in flight stay in the
// dedupe table until their lease runs out.
func (s *Server) Crash() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.cancel()
		_ = s.http.Close()
		if s.sweeper != nil {
			s.sweeper.Stop()
		}
		<-s.done
	})
}

// quietLog drops net/http's own log lines (connection resets are expected
// in the experiments).
func quietLog() *log.Logger { return log.New(discard{}, "", 0) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

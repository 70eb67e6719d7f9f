package cdc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Stream is a logical replication stream on one slot. Next hands out
// committed transactions; Ack says which are processed. Ack is safe to call
// from any goroutine; Next, Flush and Close take turns on the connection.
type Stream struct {
	slot, publication string
	start             pglogrepl.LSN
	statusEvery       time.Duration

	conn  *pgconn.PgConn
	dec   *decoder
	ready []*Txn
	// closing is done once Close or Abandon is called; it interrupts a
	// waiting Next.
	closing context.Context
	shut    context.CancelFunc

	io         sync.Mutex // the connection: Next, Flush, Close
	sent       pglogrepl.LSN
	nextStatus time.Time

	mu        sync.Mutex // acked and delivered, for Ack
	acked     pglogrepl.LSN
	delivered pglogrepl.LSN
}

var errClosed = errors.New("cdc: stream closed")

// Option configures Open.
type Option func(*Stream)

// From starts the stream at lsn instead of at the slot's confirmed
// position: for a consumer that persists the position it has processed
// with its output (in the same database transaction, say). The server
// never goes back before the slot's confirmed position: an lsn older than
// that starts there.
func From(lsn pglogrepl.LSN) Option { return func(s *Stream) { s.start = lsn } }

// StatusInterval sets how often, while Next waits, the Stream tells the
// server the acknowledged position (default 1 s). The server drops a
// consumer it has not heard from in wal_sender_timeout (60 s by default):
// call Next at least that often.
func StatusInterval(d time.Duration) Option { return func(s *Stream) { s.statusEvery = d } }

// Open starts streaming the publication's changes through the slot named
// slot, creating the slot (pgoutput) when it does not exist. It fails,
// with a sentence that says what to change, when the server does not
// answer within ReachTimeout, when wal_level is not logical, when the
// publication does not exist, and when another consumer holds the slot.
func Open(ctx context.Context, url, slot, publication string, opts ...Option) (*Stream, error) {
	if err := checkIdent("slot", slot); err != nil {
		return nil, err
	}
	if err := checkIdent("publication", publication); err != nil {
		return nil, err
	}
	s := &Stream{slot: slot, publication: publication, statusEvery: time.Second, dec: newDecoder()}
	s.closing, s.shut = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	if s.statusEvery <= 0 {
		return nil, fmt.Errorf("cdc: status interval %v must be positive", s.statusEvery)
	}
	confirmed, err := prepare(ctx, url, slot, publication)
	if err != nil {
		return nil, err
	}
	if s.start == 0 {
		// pglogrepl#40: do not send 0/0 and hope; start where the slot
		// says it was confirmed.
		s.start = confirmed
	}
	s.acked, s.sent = s.start, s.start

	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("cdc: %q is not a PostgreSQL URL: %w", url, err)
	}
	cfg.RuntimeParams["replication"] = "database"
	// A cancelled Next only interrupts the read: the default handler would
	// send the server a cancel request.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	cctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	if s.conn, err = pgconn.ConnectConfig(cctx, cfg); err != nil {
		return nil, unreachable(cfg.Host, cfg.Port, err)
	}
	err = pglogrepl.StartReplication(cctx, s.conn, slot, s.start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", fmt.Sprintf("publication_names '%s'", publication)},
	})
	if err != nil {
		s.conn.Close(context.Background())
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55006" {
			return nil, fmt.Errorf("cdc: slot %s is in use by another consumer (%s); a slot has one reader at a time", slot, pe.Message)
		}
		return nil, fmt.Errorf("cdc: starting replication on slot %s: %w", slot, err)
	}
	s.nextStatus = time.Now().Add(s.statusEvery)
	return s, nil
}

// prepare checks the server and the publication, creates the slot if
// needed, and returns the slot's confirmed position.
func prepare(ctx context.Context, url, slot, publication string) (pglogrepl.LSN, error) {
	conn, err := connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var level string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&level); err != nil {
		return 0, fmt.Errorf("cdc: reading wal_level: %w", err)
	}
	if level != "logical" {
		return 0, fmt.Errorf("cdc: wal_level is %s; logical decoding needs wal_level = logical (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL; make postgres starts one so configured)", level)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", publication).Scan(&exists); err != nil {
		return 0, fmt.Errorf("cdc: reading publication %s: %w", publication, err)
	}
	if !exists {
		return 0, fmt.Errorf("cdc: publication %s does not exist (cdc.Setup creates it)", publication)
	}
	st, err := slotStatus(ctx, conn, slot)
	if errors.Is(err, ErrNoSlot) {
		var lsn string
		err = conn.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", slot).Scan(&lsn)
		if err != nil {
			return 0, fmt.Errorf("cdc: creating slot %s: %w", slot, err)
		}
		return pglogrepl.ParseLSN(lsn)
	}
	if err != nil {
		return 0, err
	}
	var plugin string
	if err := conn.QueryRow(ctx, "SELECT coalesce(plugin, '') FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&plugin); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("cdc: reading slot %s: %w", slot, err)
	}
	if plugin != "pgoutput" {
		return 0, fmt.Errorf("cdc: slot %s decodes with %q, not pgoutput; drop it or choose another name", slot, plugin)
	}
	if st.Active {
		return 0, fmt.Errorf("cdc: slot %s is in use by another consumer (walsender PID %d); a slot has one reader at a time", slot, st.ActivePID)
	}
	return st.ConfirmedFlush, nil
}

// Slot is the slot's name.
func (s *Stream) Slot() string { return s.slot }

// Start is the position the stream started from.
func (s *Stream) Start() pglogrepl.LSN { return s.start }

// Next returns the next committed transaction, waiting for one until ctx
// is done. Transactions come in commit order, each once per stream; after a
// restart, every one that committed after the confirmed position comes
// again. While it waits, Next tells the server the acknowledged position.
func (s *Stream) Next(ctx context.Context) (*Txn, error) {
	s.io.Lock()
	defer s.io.Unlock()
	for {
		if len(s.ready) > 0 {
			t := s.ready[0]
			s.ready = s.ready[1:]
			s.mu.Lock()
			s.delivered = max(s.delivered, t.EndLSN)
			s.mu.Unlock()
			return t, nil
		}
		if _, err := s.receive(ctx, false); err != nil {
			return nil, err
		}
	}
}

// Ack records that every transaction up to and including the one ending at
// lsn (its EndLSN) is processed. The server hears of it at the next status
// update: within StatusInterval while Next waits, or at once with Flush or
// Close. Acknowledging a position is a promise never to need what precedes
// it: the server may discard it. So Ack refuses zero and any position past
// the last transaction Next returned; an older position than one already
// acknowledged changes nothing.
func (s *Stream) Ack(lsn pglogrepl.LSN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lsn == 0 {
		return errors.New("cdc: Ack(0/0): acknowledge a transaction's EndLSN")
	}
	if lsn > s.delivered && lsn > s.start {
		return fmt.Errorf("cdc: Ack(%s) is past the last transaction delivered (%s): it would confirm changes never processed", lsn, s.delivered)
	}
	s.acked = max(s.acked, lsn)
	return nil
}

// Acked is the highest position acknowledged so far (Start before any Ack).
func (s *Stream) Acked() pglogrepl.LSN {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// Flush sends the acknowledged position to the server and waits until the
// server has answered, so that the slot's confirmed position has moved
// when it returns. It returns the position sent.
func (s *Stream) Flush(ctx context.Context) (pglogrepl.LSN, error) {
	s.io.Lock()
	defer s.io.Unlock()
	lsn, err := s.sendStatus(true)
	if err != nil {
		return 0, err
	}
	for {
		keepalive, err := s.receive(ctx, true)
		if err != nil {
			return 0, err
		}
		if keepalive {
			return lsn, nil
		}
	}
}

// Close sends the acknowledged position and closes the connection; the
// slot stays, and a later Open resumes from the confirmed position. A Next
// waiting in another goroutine returns an error.
func (s *Stream) Close(ctx context.Context) error {
	s.shut()
	s.io.Lock()
	defer s.io.Unlock()
	if s.conn.IsClosed() {
		return nil
	}
	// End the copy mode the way the protocol says (CopyDone, then wait for
	// the server's): the server handles the status update before the
	// CopyDone behind it, so the confirmed position is in when it answers.
	// Closing the socket right after the update is not enough: a server
	// busy sending WAL can fail on the closed socket before it reads the
	// update, and a reopened stream then replays an acknowledged
	// transaction (CI saw it once).
	_, err := s.sendStatus(false)
	if err == nil {
		_ = s.conn.Conn().SetDeadline(time.Now().Add(closeWait))
		if _, cerr := pglogrepl.SendStandbyCopyDone(ctx, s.conn); cerr != nil && !pgconn.Timeout(cerr) && !errors.Is(cerr, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("cdc: ending the stream on slot %s: %w", s.slot, cerr)
		}
	}
	return errors.Join(err, s.conn.Close(ctx))
}

// closeWait bounds how long Close waits for the server to end the stream.
const closeWait = 2 * time.Second

// Abandon closes the connection without telling the server anything
// more: what a crashed consumer does. For tests and crash experiments.
func (s *Stream) Abandon() {
	s.shut()
	s.io.Lock()
	defer s.io.Unlock()
	// Closing the socket without a Terminate message, as a dying process
	// would.
	_ = s.conn.Conn().Close()
	// Close now finds the socket gone and only releases pgconn's state.
	_ = s.conn.Close(context.Background())
}

// receive reads one message from the server, decoding data into s.ready,
// and sends a status update when one is due. It reports whether the
// message was a keepalive. With wantKeepalive, the caller waits for one.
// The caller holds s.io.
func (s *Stream) receive(ctx context.Context, wantKeepalive bool) (bool, error) {
	if s.closing.Err() != nil {
		return false, errClosed
	}
	if !time.Now().Before(s.nextStatus) {
		if _, err := s.sendStatus(false); err != nil {
			return false, err
		}
	}
	rctx, cancel := context.WithDeadline(ctx, s.nextStatus)
	defer cancel()
	stop := context.AfterFunc(s.closing, cancel)
	defer stop()
	raw, err := s.conn.ReceiveMessage(rctx)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if s.closing.Err() != nil {
			return false, errClosed
		}
		if pgconn.Timeout(err) {
			return false, nil // a status update is due
		}
		return false, fmt.Errorf("cdc: replication stream on slot %s: %w", s.slot, err)
	}
	switch m := raw.(type) {
	case *pgproto3.ErrorResponse:
		return false, fmt.Errorf("cdc: replication stream on slot %s: %w", s.slot, pgconn.ErrorResponseToPgError(m))
	case *pgproto3.CopyDone:
		return false, fmt.Errorf("cdc: the server ended the replication stream on slot %s", s.slot)
	case *pgproto3.CopyData:
		return s.handle(m.Data)
	}
	return false, nil
}

// handle processes one CopyData payload of the replication protocol.
func (s *Stream) handle(data []byte) (bool, error) {
	if len(data) == 0 {
		return false, nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return false, fmt.Errorf("cdc: keepalive on slot %s: %w", s.slot, err)
		}
		if k.ReplyRequested {
			// Answer with what is processed, never with k.ServerWALEnd:
			// that is the pitfall in the package documentation.
			if _, err := s.sendStatus(false); err != nil {
				return true, err
			}
		}
		return true, nil
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return false, fmt.Errorf("cdc: WAL data on slot %s: %w", s.slot, err)
		}
		t, err := s.dec.feed(x.WALData, x.WALStart)
		if err != nil {
			return false, err
		}
		if t != nil {
			s.ready = append(s.ready, t)
		}
	}
	return false, nil
}

// sendStatus tells the server the acknowledged position as written,
// flushed and applied: all three explicitly, so that pglogrepl never
// substitutes one for another. The caller holds s.io.
func (s *Stream) sendStatus(replyRequested bool) (pglogrepl.LSN, error) {
	lsn := s.Acked()
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn,
		WALFlushPosition: lsn,
		WALApplyPosition: lsn,
		ReplyRequested:   replyRequested,
	})
	if err != nil {
		return 0, fmt.Errorf("cdc: confirming %s on slot %s: %w", lsn, s.slot, err)
	}
	s.sent = lsn
	s.nextStatus = time.Now().Add(s.statusEvery)
	return lsn, nil
}

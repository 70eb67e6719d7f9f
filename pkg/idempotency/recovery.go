package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dsgym/dsgym/pkg/idempotency/dedupe"
)

// Recovery points (after Stripe's idempotency keys, as Brandur Leach
// describes them in "Implementing Stripe-like Idempotency Keys in
// Postgres", 2017).
//
// Releasing a key when its handler fails is safe only while the failed
// attempt changed nothing outside the database: its writes are rolled
// back, and a retry runs afresh. Once the handler has called something
// outside (charged a card, sent an email), running afresh does it again.
// A handler that is about to leave the database records a recovery point
// first with [Checkpoint]; after a failure past that point the middleware
// keeps the key (its lease ends at once, so the next retry takes it over)
// instead of deleting it, and the retry's handler reads the point back
// with [Recovered] and resumes after the external call instead of making
// it again.

// ErrNeedsTwoTransactions is returned by [Checkpoint] in [OneTransaction]
// mode: there the claim itself commits with the handler's writes, so
// nothing can be recorded before the handler ends.
var ErrNeedsTwoTransactions = errors.New("recovery points need the TwoTransactions mode: in OneTransaction mode the claim commits only with the handler's writes")

// Checkpoint records, durably and before it returns, that the request
// reached point, with data the retry will need (an external call's
// reference, say). Call it before the handler's first database write
// ([RequestTx]) and before each external call whose repetition would do
// harm, or right after it with the call's result. A request that did not
// come through the middleware gets an error.
func Checkpoint(r *http.Request, point string, data []byte) error {
	h, _ := r.Context().Value(txKey{}).(*txHolder)
	if h == nil {
		return errors.New("checkpoint: the request did not come through the idempotency middleware")
	}
	if point == "" {
		return errors.New("checkpoint: empty recovery point")
	}
	return h.checkpoint(point, data)
}

// Recovered returns the recovery point an earlier attempt of this
// request recorded, and its data; point is empty on a first attempt, or
// when no attempt got that far.
func Recovered(r *http.Request) (point string, data []byte, err error) {
	h, _ := r.Context().Value(txKey{}).(*txHolder)
	if h == nil {
		return "", nil, errors.New("recovered: the request did not come through the idempotency middleware")
	}
	return h.m.o.Store.Recovery(h.ctx, h.req.Key)
}

func (h *txHolder) checkpoint(point string, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.m.o.Mode != TwoTransactions:
		return ErrNeedsTwoTransactions
	case h.tx != nil || h.ended:
		return errors.New("checkpoint: the request's transaction has begun; record recovery points before the first database write")
	}
	if err := h.m.o.Store.Checkpoint(h.ctx, h.req.Key, h.req.Lease, point, data); err != nil {
		return err
	}
	h.checkpointed = true
	return nil
}

func (h *txHolder) hasCheckpoint() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checkpointed
}

// Checkpoint stores a recovery point for key, which must still be in
// flight under lease ([ErrLeaseLost] otherwise). It commits at once.
func (s *Store) Checkpoint(ctx context.Context, key, lease, point string, data []byte) error {
	if s == nil {
		return errNoStore
	}
	if key == "" || lease == "" || point == "" {
		return errors.New("checkpoint: empty key, lease or point")
	}
	if data == nil {
		data = []byte{}
	}
	res, err := s.Querier().ExecContext(ctx, `UPDATE `+dedupe.Table+`
		SET recovery_point = $3, recovery_data = $4
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`, key, lease, point, data)
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", key, err)
	}
	if n != 1 {
		return fmt.Errorf("checkpoint %q: %w", key, ErrLeaseLost)
	}
	return nil
}

// Recovery returns key's recovery point and data ("" when none).
func (s *Store) Recovery(ctx context.Context, key string) (string, []byte, error) {
	if s == nil {
		return "", nil, errNoStore
	}
	var point sql.NullString
	var data []byte
	err := s.Querier().QueryRowContext(ctx, `SELECT recovery_point, recovery_data FROM `+dedupe.Table+` WHERE idempotency_key = $1`, key).Scan(&point, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("recovery point of %q: %w", key, err)
	}
	return point.String, data, nil
}

// Expire ends the lease of an in-flight claim at once but keeps its row,
// with its recovery point: the next retry takes the claim over (as after
// a crash) and resumes. Expiring a lost lease does nothing.
func (s *Store) Expire(ctx context.Context, key, lease string) error {
	if s == nil {
		return errNoStore
	}
	if key == "" || lease == "" {
		return errors.New("expire: empty key or lease")
	}
	if _, err := s.Querier().ExecContext(ctx, `UPDATE `+dedupe.Table+` SET locked_until = 0
		WHERE idempotency_key = $1 AND lease = $2 AND status_code IS NULL`, key, lease); err != nil {
		return fmt.Errorf("expire %q: %w", key, err)
	}
	return nil
}

// addRecoveryColumns adds the recovery columns to a dedupe table created
// before they existed.
func (s *Store) addRecoveryColumns(ctx context.Context, blob string) error {
	for _, col := range []string{"recovery_point TEXT", "recovery_data " + blob} {
		q := `ALTER TABLE ` + dedupe.Table + ` ADD COLUMN ` + col
		if s.engine == Postgres {
			q = `ALTER TABLE ` + dedupe.Table + ` ADD COLUMN IF NOT EXISTS ` + col
		}
		if err := s.exec(ctx, q); err != nil && !strings.Contains(strings.ToLower(err.Error()), "duplicate column") {
			return fmt.Errorf("add %s to the dedupe table: %w", col, err)
		}
	}
	return nil
}

// releaseOrKeep ends a failed request's claim: deleted when nothing was
// recorded (a retry runs afresh), kept with its recovery point otherwise.
func (m *Middleware) releaseOrKeep(ctx context.Context, h *txHolder, req dedupe.Request) {
	if m.o.Mode != TwoTransactions {
		return
	}
	var err error
	if h != nil && h.hasCheckpoint() {
		err = m.o.Store.Expire(ctx, req.Key, req.Lease)
		m.stats.kept.Add(1)
	} else {
		err = m.o.Store.Release(ctx, req.Key, req.Lease)
	}
	if err != nil {
		m.o.Logf("idempotency: %v", err)
	}
}

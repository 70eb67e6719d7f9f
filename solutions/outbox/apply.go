package outbox

import (
	"context"
	"database/sql"

	"github.com/dsgym/dsgym/pkg/outbox/step"
)

// ApplyOnce applies one output event downstream inside tx at most once:
// the event id goes into downstream_inbox first (INSERT ... ON CONFLICT
// DO NOTHING); only when that inserted a row does it run the effect
// (step.ApplyEffect) and report true. A duplicate on the topic (a relay
// re-published after a crash) inserts nothing and changes nothing.
//
//dsgym:exercise outbox/apply
func ApplyOnce(ctx context.Context, tx *sql.Tx, eventID string, e step.Event) (bool, error) {
	//dsgym:solution
	res, err := tx.ExecContext(ctx, "INSERT INTO downstream_inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING", eventID)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, step.ApplyEffect(ctx, tx, eventID, e)
	//dsgym:stub
	// panic("not implemented yet: ApplyOnce: record the event id in downstream_inbox and apply the effect only if it was new")
	//dsgym:end
}

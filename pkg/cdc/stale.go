package cdc

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StaleSlot is a logical replication slot that nobody reads and that
// holds WAL: the slot of a relay that died or was retired without
// dropping it. The server keeps every WAL segment since the slot's
// RestartLSN, so the disk fills until the slot is dropped or read again.
type StaleSlot struct {
	Slot
	// Advice is one sentence: what holds the WAL and how to release it.
	Advice string
}

// StaleSlots lists the logical replication slots with no consumer
// connected that retain at least minRetained bytes of WAL, the largest
// first. It reads pg_replication_slots only; it drops nothing. A relay
// that is merely restarting shows here too for a moment: alert when a slot
// stays in the list, not when it appears.
func StaleSlots(ctx context.Context, url string, minRetained int64) ([]StaleSlot, error) {
	if minRetained < 0 {
		return nil, fmt.Errorf("cdc: StaleSlots needs minRetained >= 0, got %d", minRetained)
	}
	conn, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT slot_name FROM pg_replication_slots
		WHERE slot_type = 'logical' AND NOT active
		  AND (pg_current_wal_lsn() - restart_lsn)::bigint >= $1
		ORDER BY (pg_current_wal_lsn() - restart_lsn) DESC, slot_name`, minRetained)
	if err != nil {
		return nil, fmt.Errorf("cdc: reading pg_replication_slots: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("cdc: reading pg_replication_slots: %w", err)
	}
	var out []StaleSlot
	for _, n := range names {
		s, err := slotStatus(ctx, conn, n)
		if err != nil {
			continue // dropped between the two queries
		}
		out = append(out, StaleSlot{Slot: s, Advice: fmt.Sprintf(
			"slot %s has no reader and holds %s of WAL since %s: restart its relay, or drop it with SELECT pg_drop_replication_slot('%s') (cdc.DropSlot); a dropped slot's relay must start again from a fresh snapshot",
			n, byteSize(s.RetainedBytes), s.RestartLSN, n)})
	}
	return out, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

package cdc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// ReachTimeout bounds how long connecting to PostgreSQL may take before
// the package gives up with an error naming the address.
const ReachTimeout = 5 * time.Second

// connect opens a SQL connection to url within ReachTimeout.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("cdc: %q is not a PostgreSQL URL: %w", url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, ReachTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, unreachable(cfg.Host, cfg.Port, err)
	}
	return conn, nil
}

func unreachable(host string, port uint16, err error) error {
	return fmt.Errorf("cdc: PostgreSQL at %s:%d did not accept a connection within %v (make postgres starts one): %w", host, port, ReachTimeout, err)
}

// Setup creates the publication named publication for tables ("name" or
// "schema.name"), which must exist. A publication that already exists is
// kept when it covers every table asked for, and is an error otherwise:
// Setup never changes what an existing publication captures.
func Setup(ctx context.Context, url, publication string, tables ...string) error {
	if err := checkIdent("publication", publication); err != nil {
		return err
	}
	if len(tables) == 0 {
		return errors.New("cdc: Setup needs at least one table to publish")
	}
	quoted := make([]string, len(tables))
	want := make([]string, len(tables))
	for i, t := range tables {
		q, schema, name, err := tableIdent(t)
		if err != nil {
			return err
		}
		quoted[i], want[i] = q, schema+"."+name
	}
	conn, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	var have []string
	rows, err := conn.Query(ctx, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1", publication)
	if err != nil {
		return fmt.Errorf("cdc: reading publication %s: %w", publication, err)
	}
	have, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("cdc: reading publication %s: %w", publication, err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", publication).Scan(&exists); err != nil {
		return fmt.Errorf("cdc: reading publication %s: %w", publication, err)
	}
	if exists {
		var missing []string
		for _, t := range want {
			if !slices.Contains(have, t) {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("cdc: publication %s exists without %s (it has %v); drop it or choose another name", publication, strings.Join(missing, ", "), have)
		}
		return nil
	}
	// Identifiers are checked and quoted above: DDL takes no parameters.
	sql := fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s", pgx.Identifier{publication}.Sanitize(), strings.Join(quoted, ", "))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("cdc: creating publication %s: %w", publication, err)
	}
	return nil
}

// Slot is what the server knows about a replication slot.
type Slot struct {
	Name   string
	Active bool // a consumer is connected to it
	// ActivePID is the walsender serving the consumer, when Active.
	ActivePID int32
	// ConfirmedFlush is the position the consumer last confirmed: a new
	// stream on this slot starts with the first transaction committing
	// after it.
	ConfirmedFlush pglogrepl.LSN
	// RestartLSN is the oldest WAL the server keeps for the slot.
	RestartLSN pglogrepl.LSN
	// RetainedBytes is how much WAL the slot holds on disk: the current
	// WAL position minus RestartLSN. It grows while nobody confirms.
	RetainedBytes int64
}

// ErrNoSlot is returned by SlotStatus for a slot that does not exist.
var ErrNoSlot = errors.New("cdc: no such replication slot")

// SlotStatus reads the slot named slot from pg_replication_slots.
func SlotStatus(ctx context.Context, url, slot string) (Slot, error) {
	if err := checkIdent("slot", slot); err != nil {
		return Slot{}, err
	}
	conn, err := connect(ctx, url)
	if err != nil {
		return Slot{}, err
	}
	defer conn.Close(context.Background())
	return slotStatus(ctx, conn, slot)
}

func slotStatus(ctx context.Context, conn *pgx.Conn, slot string) (Slot, error) {
	s := Slot{Name: slot}
	var pid *int32
	var confirmed, restart *string
	var retained *int64
	err := conn.QueryRow(ctx, `SELECT active, active_pid, confirmed_flush_lsn::text, restart_lsn::text,
		(pg_current_wal_lsn() - restart_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s.Active, &pid, &confirmed, &restart, &retained)
	if errors.Is(err, pgx.ErrNoRows) {
		return Slot{}, fmt.Errorf("%w: %s", ErrNoSlot, slot)
	}
	if err != nil {
		return Slot{}, fmt.Errorf("cdc: reading slot %s: %w", slot, err)
	}
	if pid != nil {
		s.ActivePID = *pid
	}
	if retained != nil {
		s.RetainedBytes = *retained
	}
	for _, p := range []struct {
		text *string
		lsn  *pglogrepl.LSN
	}{{confirmed, &s.ConfirmedFlush}, {restart, &s.RestartLSN}} {
		if p.text == nil {
			continue
		}
		if *p.lsn, err = pglogrepl.ParseLSN(*p.text); err != nil {
			return Slot{}, fmt.Errorf("cdc: slot %s: %w", slot, err)
		}
	}
	return s, nil
}

// DropSlot drops the replication slot named slot, releasing the WAL it
// holds. A slot that does not exist is not an error; an active one is.
func DropSlot(ctx context.Context, url, slot string) error {
	if err := checkIdent("slot", slot); err != nil {
		return err
	}
	conn, err := connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot); err != nil {
		return fmt.Errorf("cdc: dropping slot %s: %w", slot, err)
	}
	return nil
}

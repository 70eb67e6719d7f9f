package cdc

import (
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"
)

// Op is the kind of a Change.
type Op string

// The operations pgoutput reports.
const (
	Insert   Op = "insert"
	Update   Op = "update"
	Delete   Op = "delete"
	Truncate Op = "truncate"
)

// Change is one row changed by a transaction.
type Change struct {
	Op     Op
	Schema string
	Table  string
	// New is the row after an insert or update, column name to value
	// (decoded from PostgreSQL's text format: int64, string, time.Time,
	// pgtype values... as pgx decodes them). A column whose value is an
	// unchanged TOASTed value (the server does not resend it) is absent.
	New map[string]any
	// Old is, for an update or delete, the replica identity of the old
	// row: its primary key by default, every column with REPLICA IDENTITY
	// FULL. Nil for an update that did not change the key.
	Old map[string]any
	// LSN is where the change's message starts in the WAL.
	LSN pglogrepl.LSN
}

// Txn is one committed transaction, with every change it made to the
// published tables, in the order it made them.
type Txn struct {
	Xid uint32
	// CommitLSN is the position of the commit record; EndLSN the end of
	// the transaction. Acknowledge EndLSN once the transaction is
	// processed: a stream started after it begins with the next one.
	CommitLSN, EndLSN pglogrepl.LSN
	// CommitTime is the server's commit timestamp.
	CommitTime time.Time
	// Received is when the Stream decoded the commit, on this machine.
	Received time.Time
	Changes  []Change
}

// decoder turns pgoutput (protocol 1) messages into whole transactions.
type decoder struct {
	relations map[uint32]*pglogrepl.RelationMessage
	types     *pgtype.Map
	cur       *Txn
	now       func() time.Time
}

func newDecoder() *decoder {
	return &decoder{relations: map[uint32]*pglogrepl.RelationMessage{}, types: pgtype.NewMap(), now: time.Now}
}

// feed decodes one pgoutput message found at lsn and returns the
// transaction it completes, if it is a commit.
func (d *decoder) feed(data []byte, lsn pglogrepl.LSN) (*Txn, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cdc: decoding pgoutput message at %s: %w", lsn, err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		d.relations[m.RelationID] = m
	case *pglogrepl.BeginMessage:
		d.cur = &Txn{Xid: m.Xid, CommitTime: m.CommitTime}
	case *pglogrepl.CommitMessage:
		t := d.cur
		if t == nil {
			return nil, fmt.Errorf("cdc: commit at %s without a begin", lsn)
		}
		d.cur = nil
		t.CommitLSN, t.EndLSN, t.CommitTime, t.Received = m.CommitLSN, m.TransactionEndLSN, m.CommitTime, d.now()
		return t, nil
	case *pglogrepl.InsertMessage:
		return nil, d.add(lsn, Insert, m.RelationID, m.Tuple, nil, false)
	case *pglogrepl.UpdateMessage:
		return nil, d.add(lsn, Update, m.RelationID, m.NewTuple, m.OldTuple, m.OldTupleType == pglogrepl.UpdateMessageTupleTypeKey)
	case *pglogrepl.DeleteMessage:
		return nil, d.add(lsn, Delete, m.RelationID, nil, m.OldTuple, m.OldTupleType == pglogrepl.DeleteMessageTupleTypeKey)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			if err := d.add(lsn, Truncate, id, nil, nil, false); err != nil {
				return nil, err
			}
		}
	}
	// Type, origin and logical decoding messages carry nothing a Txn
	// reports.
	return nil, nil
}

// add appends a change to the open transaction. keyOnly says the old
// tuple is the replica identity key alone: its other columns come as
// NULLs that mean "not sent", and are left out.
func (d *decoder) add(lsn pglogrepl.LSN, op Op, rel uint32, newTuple, oldTuple *pglogrepl.TupleData, keyOnly bool) error {
	if d.cur == nil {
		return fmt.Errorf("cdc: %s at %s outside a transaction", op, lsn)
	}
	r, ok := d.relations[rel]
	if !ok {
		return fmt.Errorf("cdc: %s at %s on relation %d, which the server never described", op, lsn, rel)
	}
	c := Change{Op: op, Schema: r.Namespace, Table: r.RelationName, LSN: lsn}
	var err error
	if c.New, err = d.row(r, newTuple, false); err != nil {
		return err
	}
	if c.Old, err = d.row(r, oldTuple, keyOnly); err != nil {
		return err
	}
	d.cur.Changes = append(d.cur.Changes, c)
	return nil
}

// row decodes a tuple of relation r; a nil tuple is a nil row. With
// keyOnly, only the columns flagged as part of the key are kept.
func (d *decoder) row(r *pglogrepl.RelationMessage, t *pglogrepl.TupleData, keyOnly bool) (map[string]any, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.Columns) > len(r.Columns) {
		return nil, fmt.Errorf("cdc: a row of %s.%s has %d columns, the relation %d", r.Namespace, r.RelationName, len(t.Columns), len(r.Columns))
	}
	row := make(map[string]any, len(t.Columns))
	for i, col := range t.Columns {
		rc := r.Columns[i]
		if keyOnly && rc.Flags&1 == 0 {
			continue
		}
		switch col.DataType {
		case 'n':
			row[rc.Name] = nil
		case 'u': // unchanged TOAST: not sent
		case 't':
			v, err := d.decode(col.Data, rc.DataType)
			if err != nil {
				return nil, fmt.Errorf("cdc: column %s of %s.%s: %w", rc.Name, r.Namespace, r.RelationName, err)
			}
			row[rc.Name] = v
		default:
			return nil, fmt.Errorf("cdc: column %s of %s.%s has format %q, want text", rc.Name, r.Namespace, r.RelationName, col.DataType)
		}
	}
	return row, nil
}

// decode turns a text-format value of type oid into a Go value; a type
// pgx does not know stays a string.
func (d *decoder) decode(data []byte, oid uint32) (any, error) {
	if t, ok := d.types.TypeForOID(oid); ok {
		return t.Codec.DecodeValue(d.types, oid, pgtype.TextFormatCode, data)
	}
	return string(data), nil
}

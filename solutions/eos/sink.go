package eos

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dsgym/dsgym/pkg/eos/step"
)

// WriteBatch writes one batch of the idempotent sink inside tx (opened by
// the pipeline, committed by it after WriteBatch returns): every row into
// output with INSERT ... ON CONFLICT (key, seq) DO NOTHING, so that a row
// written twice is a no-op, and every partition's next offset into offsets
// (insert, or update the row that is there). Because rows and offsets
// commit together, a crash leaves either both or neither, and a restart
// resumes exactly after the last committed batch.
//
//dsgym:exercise eos/sink
func WriteBatch(ctx context.Context, tx *sql.Tx, topic string, rows []step.Row, next map[int32]int64) error {
	//dsgym:solution
	if tx == nil {
		return fmt.Errorf("no transaction")
	}
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO output (key, seq, value) VALUES (?, ?, ?) ON CONFLICT (key, seq) DO NOTHING`,
			r.Key, r.Seq, r.Value); err != nil {
			return fmt.Errorf("write row %s#%d: %w", r.Key, r.Seq, err)
		}
	}
	for part, n := range next {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO offsets (topic, partition, next) VALUES (?, ?, ?)
			 ON CONFLICT (topic, partition) DO UPDATE SET next = excluded.next`,
			topic, part, n); err != nil {
			return fmt.Errorf("store the offset of %s/%d: %w", topic, part, err)
		}
	}
	return nil
	//dsgym:stub
	// panic("not implemented yet: WriteBatch: insert the rows with ON CONFLICT (key, seq) DO NOTHING and upsert each partition's next offset, all in tx")
	//dsgym:end
}

// ResumeOffsets reads the next offset to consume per partition of topic
// from the offsets table: where a restarted sink starts. A partition with
// no row starts from its beginning (no entry in the map).
//
//dsgym:exercise eos/sink
func ResumeOffsets(ctx context.Context, db *sql.DB, topic string) (map[int32]int64, error) {
	//dsgym:solution
	rows, err := db.QueryContext(ctx, `SELECT partition, next FROM offsets WHERE topic = ?`, topic)
	if err != nil {
		return nil, fmt.Errorf("read stored offsets: %w", err)
	}
	defer rows.Close()
	pos := map[int32]int64{}
	for rows.Next() {
		var part int32
		var next int64
		if err := rows.Scan(&part, &next); err != nil {
			return nil, err
		}
		pos[part] = next
	}
	return pos, rows.Err()
	//dsgym:stub
	// panic("not implemented yet: ResumeOffsets: SELECT partition, next FROM offsets WHERE topic = ? into a map")
	//dsgym:end
}

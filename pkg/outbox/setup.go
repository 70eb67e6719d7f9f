package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/dsgym/dsgym/pkg/engines"
)

// stage is one run's private resources: its input and output topics, its
// database and, for the log-based relay, its slot and publication (both
// named slot). close releases them all.
type stage struct {
	in, out, slot string
	d             *Database
	close         func()
}

// errNeedsPostgres is the answer to log-based CDC on SQLite.
var errNeedsPostgres = errors.New("outbox: log-based CDC needs PostgreSQL: run make postgres and set DSGYM_POSTGRES_URL, or use the polling relay")

// newStage creates a run's topics (partitions each), a fresh database with
// customers reference rows and, for relay LogBased, the publication and
// slot, before anything is written. kind names the run in the resources'
// names.
func newStage(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, kind string, relay RelayKind, partitions, customers int) (*stage, error) {
	if relay == LogBased && !dbe.Real {
		return nil, errNeedsPostgres
	}
	n := runs.Add(1)
	name := fmt.Sprintf("outbox-%s-%d-%d", kind, os.Getpid(), n)
	s := &stage{in: name + "-in", out: name + "-out", slot: fmt.Sprintf("dsgym_outbox_%s_%d_%d", kind, os.Getpid(), n)}
	var undo []func()
	s.close = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for _, t := range []string{s.in, s.out} {
		if err := k.CreateTopic(ctx, t, int32(partitions), -1); err != nil {
			s.close()
			return nil, err
		}
	}
	undo = append(undo, func() { deleteTopics(k, s.in, s.out) })
	d, err := NewDatabase(ctx, dbe, customers)
	if err != nil {
		s.close()
		return nil, err
	}
	s.d = d
	undo = append(undo, func() { d.Close() })
	if relay == LogBased {
		if err := SetupLog(ctx, d, s.slot, s.slot); err != nil {
			s.close()
			return nil, err
		}
		undo = append(undo, func() { dropLog(d, s.slot) })
	}
	return s, nil
}

package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Design A's crash points: the database write happens outside the Kafka
// transaction, before or after its commit.
const (
	// AWriteBeforeCommit: the rows are written and committed in the
	// database, then the instance dies before the Kafka transaction
	// commits. Kafka aborts the transaction and the batch is consumed
	// again: the database write happens twice.
	AWriteBeforeCommit Point = "A: after the DB write, before the Kafka commit"
	// AWriteAfterCommit: the Kafka transaction (output records and
	// offsets) commits, then the instance dies before the database write.
	// The batch is never consumed again: its rows are lost, and the
	// output topic carries events the database never committed.
	AWriteAfterCommit Point = "A: after the Kafka commit, before the DB write"
)

// OptionA runs design A on the same input, database and checker as Run:
// a transactional read-process-write job (franz-go's GroupTransactSession:
// output records and consumer offsets in one Kafka transaction) that
// also writes each batch's orders to the database in a transaction of its
// own, before the Kafka commit or, with dbAfter, after it. There is no
// inbox and no relay: the events go straight to the output topic, and the
// downstream consumer reads it read_committed. crash is AWriteBeforeCommit
// or AWriteAfterCommit (or nothing).
func OptionA(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, cfg Config, dbAfter bool) (Result, error) {
	cfg.defaults()
	cfg.Relay = "none (a Kafka transaction)"
	res := Result{Config: cfg, Kafka: k.Name, Database: dbe.Name}
	switch {
	case cfg.Orders > MaxOrders:
		return res, fmt.Errorf("outbox: at most %d orders per run, not %d", MaxOrders, cfg.Orders)
	case cfg.Crash.At != "" && cfg.Crash.At != AWriteBeforeCommit && cfg.Crash.At != AWriteAfterCommit:
		return res, fmt.Errorf("outbox: design A crashes at %q or %q, not %q", AWriteBeforeCommit, AWriteAfterCommit, cfg.Crash.At)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	began := time.Now()
	st, err := newStage(ctx, k, dbe, "a", Polling, cfg.Partitions, cfg.Customers)
	if err != nil {
		return res, err
	}
	defer st.close()
	name := st.in[:len(st.in)-len("-in")]
	orders, err := WriteOrders(ctx, k, st.in, cfg.Orders, cfg.Customers, cfg.MalformedEvery, rand.New(rand.NewPCG(cfg.Seed, 9)))
	if err != nil {
		return res, err
	}
	db, err := st.d.Open()
	if err != nil {
		return res, err
	}
	defer db.Close()
	crash := cfg.Crash
	var done int
	for life := 1; done < len(orders) && life < 20; life++ {
		n, err := optionALife(ctx, k, db, st, name, life, dbAfter, &crash, len(orders)-done)
		done += n
		if errors.Is(err, ErrCrashed) {
			res.Restarts++
			continue
		}
		if err != nil {
			return res, err
		}
	}
	// The downstream consumer applies what the output topic committed.
	if res.DownstreamDuplicates, err = drainDownstream(ctx, st, k, name, cfg.Batch); err != nil {
		return res, err
	}
	res.Took = time.Since(began)
	res.Crashed = crash.Fired()
	h, err := Collect(ctx, st.d, k, orders, st.out, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return res, err
	}
	res.Report = Check(h)
	return res, nil
}

// optionALife is one life of design A's instance: it consumes until it
// has committed remaining records or crashes, and returns how many input
// records it committed in Kafka.
func optionALife(ctx context.Context, k *engines.KafkaEngine, db *sql.DB, st *stage, name string, life int, dbAfter bool, crash *Crash, remaining int) (int, error) {
	s, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(k.Brokers...),
		kgo.ConsumerGroup(name+"-a"),
		kgo.ConsumeTopics(st.in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(50*time.Millisecond),
		kgo.RequireStableFetchOffsets(),
		kgo.TransactionalID(name+"-a"),
		kgo.DefaultProduceTopic(st.out),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	done, seq, idle := 0, 0, 0
	for done < remaining && idle < 40 {
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := s.PollRecords(pctx, 20)
		pcancel()
		rs := fs.Records()
		if len(rs) == 0 {
			idle++
			continue
		}
		idle = 0
		var ws []step.Write
		for _, r := range rs {
			seq++
			ws = append(ws, step.Write{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: r.Value,
				EventID: fmt.Sprintf("a%d-e%d", life, seq), TraceID: fmt.Sprintf("a%d-t%d", life, seq), Now: time.Now(), Postgres: st.d.Postgres()})
		}
		write := func() error {
			return inDBTx(ctx, db, func(tx *sql.Tx) error { return writeOrdersNoInbox(ctx, tx, ws) })
		}
		if !dbAfter {
			if err := write(); err != nil {
				return done, err
			}
			if crash.hit(AWriteBeforeCommit) {
				return done, ErrCrashed
			}
		}
		if err := s.Begin(); err != nil {
			return done, err
		}
		recs, err := eventRecords(ctx, db, ws)
		if err != nil {
			return done, err
		}
		if err := s.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			_, _ = s.End(ctx, kgo.TryAbort)
			continue
		}
		committed, err := s.End(ctx, kgo.TryCommit)
		if err != nil {
			return done, err
		}
		if !committed {
			continue
		}
		done += len(rs)
		if dbAfter {
			if crash.hit(AWriteAfterCommit) {
				return done, ErrCrashed
			}
			if err := write(); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// writeOrdersNoInbox is design A's database write: the orders upserted
// (a second write shows in orders.applied), no inbox, no outbox.
func writeOrdersNoInbox(ctx context.Context, tx *sql.Tx, ws []step.Write) error {
	for _, w := range ws {
		o, err := step.ParseOrder(w.Value)
		if err != nil {
			if err := step.Reject(ctx, tx, w, err.Error()); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, customer_id, amount, region, event_id)
			SELECT $1, $2, $3, region, $4 FROM customers WHERE id = $2
			ON CONFLICT (id) DO UPDATE SET applied = orders.applied + 1, event_id = excluded.event_id`, o.ID, o.Customer, o.Amount, w.EventID); err != nil {
			return err
		}
	}
	return nil
}

// drainDownstream runs a downstream consumer on the stage's output topic
// until it has been idle for five polls, and returns the duplicates its
// inbox recognised.
func drainDownstream(ctx context.Context, st *stage, k *engines.KafkaEngine, name string, batch int) (int, error) {
	down, err := NewDownstream(ctx, st.d, k, DownstreamConfig{Topic: st.out, Group: name + "-down", Batch: batch}, nil)
	if err != nil {
		return 0, err
	}
	defer down.Close()
	for idle := 0; idle < 5; {
		got, err := down.Step(ctx, 50*time.Millisecond)
		if err != nil {
			return down.Duplicates, err
		}
		if got == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return down.Duplicates, nil
}

// eventRecords builds the output records of a batch (enriched from the
// customers table), with the same event ids as its database write.
func eventRecords(ctx context.Context, db *sql.DB, ws []step.Write) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	for _, w := range ws {
		o, err := step.ParseOrder(w.Value)
		if err != nil {
			continue
		}
		var name, region string
		if err := db.QueryRowContext(ctx, "SELECT name, region FROM customers WHERE id = $1", o.Customer).Scan(&name, &region); err != nil {
			continue
		}
		payload, err := json.Marshal(step.Event{Order: o.ID, Customer: o.Customer, Amount: o.Amount, Region: region, Name: name})
		if err != nil {
			return nil, err
		}
		recs = append(recs, row{id: w.EventID, aggregate: o.Customer, kind: "OrderPlaced", payload: string(payload), trace: w.TraceID}.record())
	}
	return recs, nil
}

// inDBTx runs f in a database transaction and commits it.
func inDBTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

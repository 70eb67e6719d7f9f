package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox/step"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Design C's crash points: a coordinator drives PostgreSQL's two-phase
// commit (PREPARE TRANSACTION, COMMIT PREPARED) and a Kafka transaction,
// logging its decision in between.
const (
	// CAfterPrepare: the batch's rows are prepared in PostgreSQL, nothing
	// is decided. On restart the coordinator finds no decision and rolls
	// the prepared transaction back (presumed abort); Kafka aborts the
	// open transaction when the next session takes the transactional id,
	// and the batch is consumed again. Nothing is lost or doubled.
	CAfterPrepare Point = "C: after the DB prepare, before the decision"
	// CAfterDecision: the decision (commit) is logged, the Kafka
	// transaction is not committed yet. On restart the coordinator must
	// honour the decision and commits the prepared rows, but Kafka has no
	// prepared state another process can commit: the new session aborts
	// the transaction, the offsets are not committed and the batch is
	// consumed again, so its rows are written twice.
	CAfterDecision Point = "C: after the decision, before the Kafka commit"
	// CBeforeDBCommit: Kafka committed, the rows are still prepared. While
	// the coordinator is down the prepared transaction holds its row
	// locks: a writer touching those rows waits until recovery runs
	// COMMIT PREPARED.
	CBeforeDBCommit Point = "C: after the Kafka commit, before COMMIT PREPARED"
)

// OptionCResult is one run of design C.
type OptionCResult struct {
	Result
	// InDoubt is how many prepared transactions the coordinator found
	// when it came back (pg_prepared_xacts), and Resolved what it did
	// with each.
	InDoubt  int
	Resolved []string
	// Blocked is how long a concurrent writer to a row of the prepared
	// batch waited (CBeforeDBCommit): the coordinator's downtime.
	Blocked time.Duration
}

// ErrNoPreparedTransactions is returned when PostgreSQL refuses PREPARE
// TRANSACTION: max_prepared_transactions is 0 by default.
var ErrNoPreparedTransactions = errors.New("outbox: design C needs PostgreSQL's prepared transactions: set max_prepared_transactions > 0 and restart it (make postgres sets 20)")

// OptionC runs design C on the same input, downstream consumer and checker
// as Run, on PostgreSQL: per batch, the coordinator writes the orders in a
// transaction and prepares it, logs its decision, commits the Kafka
// transaction (output records and consumer offsets), then runs COMMIT
// PREPARED. The decision log is the coordinator's own durable state (here
// a map that outlives the instance's crash, as a file would). With a
// crash, the coordinator stays down for down, then recovers: it lists its
// prepared transactions, commits those it decided to commit and rolls back
// the rest.
func OptionC(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, cfg Config, down time.Duration) (OptionCResult, error) {
	cfg.defaults()
	cfg.Relay = "none (2PC coordinator)"
	res := OptionCResult{Result: Result{Config: cfg, Kafka: k.Name, Database: dbe.Name}}
	switch {
	case !dbe.Real:
		return res, errors.New("outbox: design C needs PostgreSQL (SQLite has no prepared transactions): run make postgres and set DSGYM_POSTGRES_URL")
	case cfg.Orders > MaxOrders:
		return res, fmt.Errorf("outbox: at most %d orders per run, not %d", MaxOrders, cfg.Orders)
	case cfg.Crash.At != "" && cfg.Crash.At != CAfterPrepare && cfg.Crash.At != CAfterDecision && cfg.Crash.At != CBeforeDBCommit:
		return res, fmt.Errorf("outbox: design C crashes at %q, %q or %q, not %q", CAfterPrepare, CAfterDecision, CBeforeDBCommit, cfg.Crash.At)
	case down < 0 || down > time.Minute:
		return res, fmt.Errorf("outbox: the coordinator's downtime must be in [0, 1m], not %v", down)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	began := time.Now()
	st, err := newStage(ctx, k, dbe, "c", Polling, cfg.Partitions, cfg.Customers)
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
	co := &coordinator{db: db, name: name, decided: map[string]bool{}, crash: &cfg.Crash}
	defer co.rollbackAll()
	var done int
	for life := 1; done < len(orders) && life < 20; life++ {
		n, err := co.life(ctx, k, st, life, len(orders)-done)
		done += n
		if errors.Is(err, ErrCrashed) {
			res.Restarts++
			var blocked chan time.Duration
			if cfg.Crash.At == CBeforeDBCommit && co.lastOrder != "" {
				blocked = co.writeAgainst(ctx, co.lastOrder)
			}
			select {
			case <-time.After(down):
			case <-ctx.Done():
				return res, ctx.Err()
			}
			inDoubt, resolved, err := co.recover(ctx)
			if err != nil {
				return res, err
			}
			res.InDoubt += inDoubt
			res.Resolved = append(res.Resolved, resolved...)
			if blocked != nil {
				res.Blocked = <-blocked
			}
			continue
		}
		if err != nil {
			return res, err
		}
	}
	if res.DownstreamDuplicates, err = drainDownstream(ctx, st, k, name, cfg.Batch); err != nil {
		return res, err
	}
	res.Took = time.Since(began)
	res.Crashed = cfg.Crash.Fired()
	h, err := Collect(ctx, st.d, k, orders, st.out, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return res, err
	}
	res.Report = Check(h)
	return res, nil
}

// coordinator is design C's transaction manager: the decision log
// outlives its crashes, the rest does not.
type coordinator struct {
	db        *sql.DB
	name      string
	decided   map[string]bool // gid -> commit; the durable decision log
	crash     *Crash
	lastOrder string // an order id of the batch in flight, for the blocking probe
}

// life is one life of the coordinator: it consumes and commits batches
// until remaining input records are done or it crashes.
func (co *coordinator) life(ctx context.Context, k *engines.KafkaEngine, st *stage, life, remaining int) (int, error) {
	s, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(k.Brokers...),
		kgo.ConsumerGroup(co.name+"-c"),
		kgo.ConsumeTopics(st.in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(50*time.Millisecond),
		kgo.RequireStableFetchOffsets(),
		kgo.TransactionalID(co.name+"-c"),
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
		rs := s.PollRecords(pctx, 20).Records()
		pcancel()
		if len(rs) == 0 {
			idle++
			continue
		}
		idle = 0
		var ws []step.Write
		for _, r := range rs {
			seq++
			ws = append(ws, step.Write{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: r.Value,
				EventID: fmt.Sprintf("c%d-e%d", life, seq), TraceID: fmt.Sprintf("c%d-t%d", life, seq), Now: time.Now(), Postgres: true})
		}
		// Phase 1: the database votes by preparing. The gid is built from
		// the run's name and counters only ([a-z0-9-]), and PREPARE
		// TRANSACTION takes no parameters.
		gid := fmt.Sprintf("%s-%d-%d", co.name, life, seq)
		if err := co.prepare(ctx, gid, ws); err != nil {
			return done, err
		}
		if o, err := step.ParseOrder(ws[0].Value); err == nil {
			co.lastOrder = o.ID
		}
		if co.crash.hit(CAfterPrepare) {
			return done, ErrCrashed
		}
		recs, err := eventRecords(ctx, co.db, ws)
		if err != nil {
			return done, err
		}
		if err := s.Begin(); err != nil {
			return done, err
		}
		if err := s.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			_, _ = s.End(ctx, kgo.TryAbort)
			if err := co.finish(ctx, gid, false); err != nil {
				return done, err
			}
			continue
		}
		co.decided[gid] = true // the decision, logged before any participant commits
		if co.crash.hit(CAfterDecision) {
			return done, ErrCrashed
		}
		committed, err := s.End(ctx, kgo.TryCommit)
		if err != nil {
			return done, err
		}
		if !committed {
			// The coordinator decided commit and cannot take it back: the
			// rows commit, and the batch will be consumed again.
			if err := co.finish(ctx, gid, true); err != nil {
				return done, err
			}
			continue
		}
		if co.crash.hit(CBeforeDBCommit) {
			// Kafka committed the offsets: the batch is not consumed again,
			// recovery commits its rows.
			return done + len(rs), ErrCrashed
		}
		if err := co.finish(ctx, gid, true); err != nil {
			return done, err
		}
		done += len(rs)
	}
	return done, nil
}

func (co *coordinator) prepare(ctx context.Context, gid string, ws []step.Write) error {
	tx, err := co.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := writeOrdersNoInbox(ctx, tx, ws); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PREPARE TRANSACTION '"+gid+"'"); err != nil {
		if strings.Contains(err.Error(), "prepared transactions are disabled") {
			return ErrNoPreparedTransactions
		}
		return fmt.Errorf("outbox: prepare %s: %w", gid, err)
	}
	// After PREPARE the session has no transaction left: this COMMIT only
	// returns the connection to the pool.
	return tx.Commit()
}

// finish runs phase 2 on the database for one prepared transaction.
func (co *coordinator) finish(ctx context.Context, gid string, commit bool) error {
	stmt := "ROLLBACK PREPARED '" + gid + "'"
	if commit {
		stmt = "COMMIT PREPARED '" + gid + "'"
	}
	if _, err := co.db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("outbox: %s: %w", stmt, err)
	}
	return nil
}

// recover is the coordinator's restart: every prepared transaction of
// this run is finished as the decision log says, rolled back when it has
// no decision (presumed abort).
func (co *coordinator) recover(ctx context.Context) (int, []string, error) {
	rows, err := co.db.QueryContext(ctx, "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1 ORDER BY prepared", co.name+"-%")
	if err != nil {
		return 0, nil, err
	}
	var gids []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return 0, nil, err
		}
		gids = append(gids, g)
	}
	rows.Close()
	var done []string
	for _, g := range gids {
		commit := co.decided[g]
		if err := co.finish(ctx, g, commit); err != nil {
			return len(gids), done, err
		}
		what := "rolled back (no decision: presumed abort)"
		if commit {
			what = "committed (the logged decision)"
		}
		done = append(done, what)
	}
	return len(gids), done, nil
}

// writeAgainst starts a writer that inserts order id on its own
// connection (ON CONFLICT DO NOTHING: it changes nothing) and reports how
// long it waited: the prepared transaction's row is not visible to it,
// but its unique-index entry is, so the insert waits for the outcome.
func (co *coordinator) writeAgainst(ctx context.Context, id string) chan time.Duration {
	out := make(chan time.Duration, 1)
	started := make(chan struct{})
	go func() {
		conn, err := co.db.Conn(ctx)
		if err != nil {
			close(started)
			out <- 0
			return
		}
		defer conn.Close()
		_, _ = conn.ExecContext(ctx, "SET lock_timeout = '90s'")
		close(started)
		t0 := time.Now()
		_, _ = conn.ExecContext(ctx, `INSERT INTO orders (id, customer_id, amount, region, event_id)
			SELECT $1, id, 0, region, 'probe' FROM customers ORDER BY id LIMIT 1
			ON CONFLICT (id) DO NOTHING`, id)
		out <- time.Since(t0)
	}()
	<-started
	time.Sleep(20 * time.Millisecond) // let the UPDATE reach its lock wait
	return out
}

// rollbackAll leaves no prepared transaction of this run behind, whatever
// happened: a forgotten one holds locks and WAL until someone finishes it.
func (co *coordinator) rollbackAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, _ = co.recover(ctx)
}

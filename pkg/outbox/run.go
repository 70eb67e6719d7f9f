package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
)

// Config shapes one Run.
type Config struct {
	Relay RelayKind
	// Orders, Customers, Partitions and Batch shape the load (defaults
	// 200 orders from 8 customers on 4 partitions, 20 records per batch
	// in every component).
	Orders, Customers, Partitions, Batch int
	// MalformedEvery makes every n-th input record malformed (0: none).
	MalformedEvery int
	// ConfirmEvery is LogRelay's transactions per confirmation.
	ConfirmEvery int
	// Purge is the outbox purge strategy (default KeepRows for polling,
	// DeleteAfterInsert for log-based CDC).
	Purge Purge
	// Crash is the one crash of the run (zero: none).
	Crash Crash
	// Seed draws the orders and the interleaving of the components.
	Seed uint64
	// Trace records every step of the run in Result.Trace (for Diagram).
	Trace bool
	// ReplayAll, once the run has settled, consumes the whole input topic
	// again from offset 0 in a new consumer group (an operator resetting
	// the offsets, say) before the checker runs: the inbox must skip
	// every record.
	ReplayAll bool
	// Rebalance, when positive, makes a second ingest instance join the
	// group once the first has applied that many orders, at the worst
	// moment: the first holds a batch committed in the database and not
	// yet in Kafka. The group rebalances, partitions move, the newcomer
	// reads them from the last committed offsets, and the inbox skips the
	// rows already written. Both instances then share the input.
	Rebalance int
	// RestartDatabase, when set, is called once, after RestartAfter steps
	// (default 30), to restart the database under the running pipeline
	// (enginetest.Postgres.Restart: a fast shutdown cuts every session).
	// A component whose step then fails is restarted as after a crash:
	// it resumes from what is durable.
	RestartDatabase func() error
	RestartAfter    int
	// Write and Apply replace the ingest's and the downstream's step (an
	// exercise's version, say); nil: WriteOrder and ApplyOnce.
	Write WriteFunc
	Apply ApplyFunc
	// confirmFirst makes LogRelay confirm before publishing (known-bad).
	confirmFirst bool
}

func (c *Config) defaults() {
	if c.Relay == "" {
		c.Relay = Polling
	}
	if c.Orders <= 0 {
		c.Orders = 200
	}
	if c.Customers <= 0 {
		c.Customers = 8
	}
	if c.Partitions <= 0 {
		c.Partitions = 4
	}
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.Purge == "" {
		c.Purge = KeepRows
		if c.Relay == LogBased {
			c.Purge = DeleteAfterInsert
		}
	}
}

func (c Config) validate() error {
	switch {
	case c.Relay != Polling && c.Relay != LogBased:
		return fmt.Errorf("outbox: relay %q: want %q or %q", c.Relay, Polling, LogBased)
	case c.Orders > MaxOrders:
		return fmt.Errorf("outbox: at most %d orders per run, not %d", MaxOrders, c.Orders)
	case c.Partitions > 64 || c.Customers > 10_000 || c.Batch > 10_000:
		return fmt.Errorf("outbox: at most 64 partitions, 10000 customers and batches of 10000 (got %d, %d, %d)", c.Partitions, c.Customers, c.Batch)
	case c.Crash.At != "" && c.Crash.After < 1:
		return fmt.Errorf("outbox: crash at %q: After must be at least 1, not %d", c.Crash.At, c.Crash.After)
	case c.Relay == Polling && c.Purge == DeleteAfterInsert:
		return fmt.Errorf("outbox: the polling relay cannot publish rows deleted after insert; use %q with it", LogBased)
	case c.RestartAfter < 0:
		return fmt.Errorf("outbox: RestartAfter %d is negative", c.RestartAfter)
	case c.Rebalance < 0 || c.Rebalance > c.Orders:
		return fmt.Errorf("outbox: Rebalance %d must be in [0, orders %d]", c.Rebalance, c.Orders)
	}
	return nil
}

// MaxOrders bounds one Run.
const MaxOrders = 200_000

// Quiet is how long a Run waits, every component idle, for orders that
// have not taken effect downstream before it stops and lets the checker
// report them.
const Quiet = 3 * time.Second

// MaxRun bounds one Run's duration.
const MaxRun = 2 * time.Minute

// Result is one Run's outcome.
type Result struct {
	Config
	Kafka, Database string
	// Crashed reports whether the crash fired; Restarts counts component
	// restarts.
	Crashed  bool
	Restarts int
	// Trace is the run's steps, when Config.Trace is set.
	Trace []TraceStep
	// Stalled reports that the run stopped with every component idle and
	// some committed orders not applied downstream.
	Stalled bool
	// Relay sums the relay's lives.
	Relay RelayStats
	// Replayed counts the records the ReplayAll pass consumed again, and
	// ReplaySkipped those its inbox recognised (all of them, when the
	// inbox works).
	Replayed, ReplaySkipped int
	// Skipped counts input records the ingest's inbox recognised;
	// DownstreamDuplicates the events the downstream inbox recognised.
	Skipped, DownstreamDuplicates int
	// Joined is what the instance that joined on Rebalance received in
	// its first polls; OffsetCommitErrors counts the ingests' failed
	// offset commits (carried on from: the inbox covers them).
	Joined, OffsetCommitErrors int
	// Reconnects counts the components restarted because a step failed
	// after RestartDatabase ran; RestartTook is how long the restart took
	// (PostgreSQL's shutdown waits, up to wal_sender_timeout, for a
	// connected logical replication client to confirm the WAL sent to it).
	Reconnects  int
	RestartTook time.Duration
	Report      Report
	Took        time.Duration
}

var runs atomic.Int64

// Run writes cfg.Orders orders to a new input topic and runs the whole
// pipeline on new tables and topics: the ingest consumer, the relay and
// the downstream consumer, one step at a time in an order drawn from
// cfg.Seed, with cfg.Crash injected. A component that crashes is closed
// and started again (its replacement resumes from what is durable: the
// database, the committed Kafka offsets, the replication slot). When
// every order has taken effect downstream and everything is idle, the
// checker reads the database and the output topic.
func Run(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, cfg Config) (Result, error) {
	cfg.defaults()
	res := Result{Config: cfg, Kafka: k.Name, Database: dbe.Name}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	began := time.Now()
	st, err := newStage(ctx, k, dbe, "run", cfg.Relay, cfg.Partitions, cfg.Customers)
	if err != nil {
		return res, err
	}
	defer st.close()
	in, out, slot, d := st.in, st.out, st.slot, st.d
	name := in[:len(in)-len("-in")]
	r := rand.New(rand.NewPCG(cfg.Seed, 9))
	orders, err := WriteOrders(ctx, k, in, cfg.Orders, cfg.Customers, cfg.MalformedEvery, r)
	if err != nil {
		return res, err
	}
	ends := map[int32]int64{}
	for _, o := range orders {
		ends[o.Partition] = max(ends[o.Partition], o.Offset+1)
	}

	crash := cfg.Crash
	var tr *tracer
	if cfg.Trace {
		tr = &tracer{}
	}
	lives := 0
	newIngest := func() (*Ingest, error) {
		lives++
		g, err := NewIngest(ctx, d, k, fmt.Sprintf("i%d", lives), IngestConfig{Topic: in, Group: name + "-ingest", Batch: cfg.Batch, Purge: cfg.Purge, Write: cfg.Write}, &crash)
		if err == nil {
			g.tr = tr
		}
		return g, err
	}
	newRelay := func() (Relay, error) {
		if cfg.Relay == LogBased {
			r, err := NewLogRelay(ctx, d, k, LogRelayConfig{Slot: slot, Publication: slot, Topic: out, ConfirmEvery: cfg.ConfirmEvery, confirmFirst: cfg.confirmFirst}, &crash)
			if err == nil {
				r.tr = tr
			}
			return r, err
		}
		r, err := NewPollRelay(ctx, d, k, PollRelayConfig{Topic: out, Batch: cfg.Batch, Purge: cfg.Purge}, &crash)
		if err == nil {
			r.tr = tr
		}
		return r, err
	}
	newDown := func() (*Downstream, error) {
		s, err := NewDownstream(ctx, d, k, DownstreamConfig{Topic: out, Group: name + "-down", Batch: cfg.Batch, Apply: cfg.Apply}, &crash)
		if err == nil {
			s.tr = tr
		}
		return s, err
	}
	ing, err := newIngest()
	if err != nil {
		return res, err
	}
	var second *Ingest // the instance that joins on cfg.Rebalance
	defer func() {
		if second != nil {
			second.Close()
		}
	}()
	if cfg.Rebalance > 0 {
		first := ing
		ing.beforeOffsets = func() {
			if second != nil || first.Applied < cfg.Rebalance {
				return
			}
			g, err := newIngest()
			if err != nil {
				return
			}
			second = g
			tr.note("I", false, "a second instance joins the group: it rebalances")
			for deadline := time.Now().Add(5 * time.Second); res.Joined == 0 && time.Now().Before(deadline); {
				n, err := g.Step(ctx, 100*time.Millisecond)
				if err != nil && !errors.Is(err, ErrOffsetCommit) {
					return
				}
				res.Joined += n
			}
		}
	}
	relay, err := newRelay()
	if err != nil {
		ing.Close()
		return res, err
	}
	down, err := newDown()
	if err != nil {
		ing.Close()
		relay.Close()
		return res, err
	}
	committed := map[int32]int64{}
	addRelay := func(s RelayStats) {
		res.Relay.Published += s.Published
		res.Relay.Confirms += s.Confirms
		res.Relay.Latency = append(res.Relay.Latency, s.Latency...)
	}
	defer func() {
		ing.Close()
		relay.Close()
		down.Close()
	}()
	ingestDone := func() bool {
		for p, end := range ends {
			if committed[p] < end {
				return false
			}
		}
		return true
	}
	const wait = 20 * time.Millisecond
	idle := [3]int{} // consecutive empty steps per component
	progress := time.Now()
	steps := 0
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("outbox: the run did not finish within %v (crash %v)", MaxRun, &crash)
		}
		steps++
		if cfg.RestartDatabase != nil && steps == max(cfg.RestartAfter, 1) {
			t0 := time.Now()
			if err := cfg.RestartDatabase(); err != nil {
				return res, err
			}
			res.RestartTook = time.Since(t0)
			tr.note("DB", true, "restarted: every session cut")
		}
		which := r.IntN(3)
		var got int
		// after a database restart, a failed step is a component crash
		asCrash := func(err error) error {
			if cfg.RestartDatabase != nil && steps >= max(cfg.RestartAfter, 1) && err != nil && !errors.Is(err, ErrCrashed) && !errors.Is(err, ErrOffsetCommit) && ctx.Err() == nil {
				res.Reconnects++
				return ErrCrashed
			}
			return err
		}
		switch which {
		case 0:
			if second != nil && r.IntN(2) == 0 {
				got, err = second.Step(ctx, wait)
				for p, o := range second.Committed {
					committed[p] = max(committed[p], o)
				}
				if errors.Is(err, ErrOffsetCommit) {
					res.OffsetCommitErrors++
					err = nil
				}
				break
			}
			got, err = ing.Step(ctx, wait)
			err = asCrash(err)
			if errors.Is(err, ErrOffsetCommit) && cfg.Rebalance > 0 {
				res.OffsetCommitErrors++
				err = nil
			}
			for p, o := range ing.Committed {
				committed[p] = max(committed[p], o)
			}
			if errors.Is(err, ErrCrashed) {
				res.Skipped += ing.Skipped
				ing.Close()
				res.Restarts++
				tr.note("I", false, "restarted: resumes from the committed offsets")
				ing, err = newIngest()
			}
		case 1:
			got, err = relay.Step(ctx, wait)
			err = asCrash(err)
			if errors.Is(err, ErrCrashed) {
				addRelay(relay.Stats())
				relay.Close()
				res.Restarts++
				tr.note("R", false, "restarted: resumes from what it confirmed")
				relay, err = newRelay()
				if err != nil {
					relay = nopRelay{}
				}
			}
		case 2:
			got, err = down.Step(ctx, wait)
			err = asCrash(err)
			if errors.Is(err, ErrCrashed) {
				res.DownstreamDuplicates += down.Duplicates
				down.Close()
				res.Restarts++
				tr.note("D", false, "restarted: resumes from the committed offsets")
				down, err = newDown()
			}
		}
		if err != nil {
			return res, err
		}
		if got > 0 {
			idle[which] = 0
			progress = time.Now()
		} else {
			idle[which]++
		}
		if idle[0] >= 2 && idle[1] >= 2 && idle[2] >= 2 && ingestDone() {
			done, err := settled(ctx, d)
			if err != nil {
				return res, err
			}
			if done {
				break
			}
			if time.Since(progress) > Quiet {
				// Everything is idle and some orders never took effect
				// downstream: nothing more is coming. The checker says
				// what is missing.
				res.Stalled = true
				break
			}
			idle = [3]int{}
		}
	}
	if cfg.ReplayAll {
		n, skipped, err := replayAll(ctx, d, k, name, in, cfg, ends)
		if err != nil {
			return res, err
		}
		res.Replayed, res.ReplaySkipped = n, skipped
		// Whatever the replay wrote (nothing, with the inbox) goes on
		// through the relay and downstream before the checker looks.
		for quiet := 0; quiet < 3; {
			a, err := relay.Step(ctx, wait)
			if err != nil {
				return res, err
			}
			b, err := down.Step(ctx, wait)
			if err != nil {
				return res, err
			}
			if a+b == 0 {
				quiet++
			} else {
				quiet = 0
			}
		}
	}
	res.Took = time.Since(began)
	res.Crashed = crash.Fired()
	if tr != nil {
		res.Trace = tr.steps
	}
	res.Skipped += ing.Skipped
	if second != nil {
		res.Skipped += second.Skipped
	}
	res.DownstreamDuplicates += down.Duplicates
	addRelay(relay.Stats())
	h, err := Collect(ctx, d, k, orders, out)
	if err != nil {
		return res, err
	}
	res.Report = Check(h)
	return res, nil
}

// settled reports whether every committed order took effect downstream.
func settled(ctx context.Context, d *Database) (bool, error) {
	db, err := d.Open()
	if err != nil {
		return false, err
	}
	defer db.Close()
	var orders, applied int
	if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM orders), (SELECT count(DISTINCT event_id) FROM downstream_applied)").Scan(&orders, &applied); err != nil {
		return false, fmt.Errorf("outbox: progress: %w", err)
	}
	return applied >= orders, nil
}

// nopRelay stands in for a relay that could not restart, so the deferred
// Close has something to close.
type nopRelay struct{}

func (nopRelay) Step(context.Context, time.Duration) (int, error) { return 0, nil }
func (nopRelay) Stats() RelayStats                                { return RelayStats{} }
func (nopRelay) Close()                                           {}

// dropLog drops a run's slot and publication.
func dropLog(d *Database, slot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = cdc.DropSlot(ctx, d.Engine.URL, slot)
	if db, err := d.Open(); err == nil {
		_, _ = db.ExecContext(ctx, "DROP PUBLICATION IF EXISTS "+slot) // slot is a checked identifier we built
		db.Close()
	}
}

// deleteTopics removes a run's topics.
func deleteTopics(k *engines.KafkaEngine, topics ...string) {
	cl, err := k.Client()
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = kadmClient(cl).DeleteTopics(ctx, topics...)
}

// replayAll consumes the whole input topic again with a new ingest in a
// new group and returns how many records it read and how many of them
// the inbox skipped (all, when it works).
func replayAll(ctx context.Context, d *Database, k *engines.KafkaEngine, name, in string, cfg Config, ends map[int32]int64) (read, skipped int, err error) {
	g, err := NewIngest(ctx, d, k, "replay", IngestConfig{Topic: in, Group: name + "-replay", Batch: cfg.Batch, Purge: cfg.Purge, Write: cfg.Write}, nil)
	if err != nil {
		return 0, 0, err
	}
	defer g.Close()
	total := 0
	for {
		done := true
		for p, end := range ends {
			if g.Committed[p] < end {
				done = false
			}
		}
		if done {
			return total, g.Skipped, nil
		}
		n, err := g.Step(ctx, 50*time.Millisecond)
		if err != nil {
			return total, g.Skipped, fmt.Errorf("outbox: replay: %w", err)
		}
		total += n
	}
}

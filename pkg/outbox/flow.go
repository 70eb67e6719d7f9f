package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FlowConfig shapes one Flow: the pipeline running continuously, each
// component in its own goroutine, as it would in production.
type FlowConfig struct {
	Relay RelayKind
	// Orders are produced at Rate per second (0: all before the start).
	Orders int
	Rate   float64
	// Customers, Partitions and Batch as in Config (defaults 50, 4, 200).
	Customers, Partitions, Batch int
	// PollInterval is the polling relay's sleep after an empty poll
	// (default 100ms).
	PollInterval time.Duration
	// Relays is how many polling relays run at once (default 1). FOR
	// UPDATE SKIP LOCKED gives each its own rows; a slot has one reader,
	// so the log-based relay is always one.
	Relays int
	// ConfirmEvery is LogRelay's transactions per confirmation.
	ConfirmEvery int
	Purge        Purge
	// Outage, when positive, makes the relay's broker unreachable for
	// that long, starting OutageAt after the start: the relay cannot
	// publish, the outbox grows, and it drains after.
	Outage, OutageAt time.Duration
	// Sample is how often the outbox's size is sampled (default 100ms).
	Sample time.Duration
	Seed   uint64
}

// FlowResult is what one Flow measured.
type FlowResult struct {
	FlowConfig
	Kafka, Database string
	// Throughput is orders per second from the first order's arrival to
	// the last downstream effect.
	Throughput float64
	// Latency is, per published event, the database commit to the
	// broker's acknowledgement (see RelayStats.Latency).
	Latency []time.Duration
	// Outbox samples the outbox's unpublished rows over time.
	Outbox []OutboxAt
	Relay  RelayStats
	// RelayRestarts counts relays restarted after a failed publish.
	RelayRestarts int
	Report        Report
	Took          time.Duration
}

// OutboxAt is one sample of the outbox table.
type OutboxAt struct {
	At time.Duration
	// Rows is every row in the table; Unpublished those not yet marked
	// (the polling relay's backlog).
	Rows, Unpublished int
	// SlotLag is, for the log-based relay, the WAL the slot retains:
	// bytes from its confirmed position to the server's current one
	// (the backlog when rows are deleted after insert).
	SlotLag int64
}

// Quantile returns the q-quantile (nearest rank) of the latencies.
func (f FlowResult) Quantile(q float64) time.Duration {
	if len(f.Latency) == 0 {
		return 0
	}
	s := slices.Clone(f.Latency)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Flow runs the pipeline with every component in its own goroutine until
// every order took effect downstream, then checks the result.
func Flow(ctx context.Context, k *engines.KafkaEngine, dbe *engines.DatabaseEngine, cfg FlowConfig) (FlowResult, error) {
	if cfg.Relay == "" {
		cfg.Relay = Polling
	}
	if cfg.Customers <= 0 {
		cfg.Customers = 50
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 4
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.Sample <= 0 {
		cfg.Sample = 100 * time.Millisecond
	}
	run := Config{Relay: cfg.Relay, Orders: cfg.Orders, Customers: cfg.Customers, Partitions: cfg.Partitions, Batch: cfg.Batch, Purge: cfg.Purge, ConfirmEvery: cfg.ConfirmEvery}
	run.defaults()
	cfg.Purge = run.Purge
	res := FlowResult{FlowConfig: cfg, Kafka: k.Name, Database: dbe.Name}
	if err := run.validate(); err != nil {
		return res, err
	}
	if cfg.Relays <= 0 {
		cfg.Relays = 1
	}
	if cfg.Relays > 1 && cfg.Relay != Polling {
		return res, fmt.Errorf("outbox: %d log-based relays: a replication slot has one reader", cfg.Relays)
	}
	if cfg.Relays > 16 {
		return res, fmt.Errorf("outbox: at most 16 relays, not %d", cfg.Relays)
	}
	if cfg.Rate < 0 || cfg.Outage < 0 || cfg.OutageAt < 0 {
		return res, fmt.Errorf("outbox: negative rate or outage (%v, %v, %v)", cfg.Rate, cfg.Outage, cfg.OutageAt)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	st, err := newStage(ctx, k, dbe, "flow", cfg.Relay, cfg.Partitions, cfg.Customers)
	if err != nil {
		return res, err
	}
	defer st.close()
	in, out, slot, d := st.in, st.out, st.slot, st.d
	name := in[:len(in)-len("-in")]
	r := rand.New(rand.NewPCG(cfg.Seed, 10))
	orders := make([]Order, cfg.Orders)
	for i := range orders {
		orders[i] = Order{ID: fmt.Sprintf("o%d", i), Customer: CustomerID(r.IntN(cfg.Customers)), Amount: 1 + r.Int64N(999)}
	}

	ing, err := NewIngest(ctx, d, k, "i1", IngestConfig{Topic: in, Group: name + "-ingest", Batch: cfg.Batch, Purge: cfg.Purge}, nil)
	if err != nil {
		return res, err
	}
	defer ing.Close()
	var gate *outageGate
	var popts []kgo.Opt
	if cfg.Outage > 0 {
		gate = &outageGate{}
		// Retry every 50 ms and refresh metadata as often: franz-go's
		// defaults (exponential backoff, metadata at most every 5 s) make
		// the relay resume seconds after the broker is back.
		popts = append(popts, kgo.Dialer(gate.dial), kgo.RecordRetries(3),
			kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }), kgo.MetadataMinAge(100*time.Millisecond))
	}
	newRelay := func() (Relay, error) {
		if cfg.Relay == LogBased {
			return NewLogRelay(ctx, d, k, LogRelayConfig{Slot: slot, Publication: slot, Topic: out, ConfirmEvery: cfg.ConfirmEvery, ProducerOpts: popts}, nil)
		}
		return NewPollRelay(ctx, d, k, PollRelayConfig{Topic: out, Batch: cfg.Batch, Purge: cfg.Purge, ProducerOpts: popts}, nil)
	}
	relays := make([]Relay, cfg.Relays)
	for i := range relays {
		if relays[i], err = newRelay(); err != nil {
			for _, r := range relays[:i] {
				r.Close()
			}
			return res, err
		}
	}
	var stats RelayStats
	defer func() {
		for _, r := range relays {
			r.Close()
		}
	}()
	down, err := NewDownstream(ctx, d, k, DownstreamConfig{Topic: out, Group: name + "-down", Batch: cfg.Batch}, nil)
	if err != nil {
		return res, err
	}
	defer down.Close()

	began := time.Now()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	stop := make(chan struct{})
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstEr == nil && !errors.Is(err, context.Canceled) {
			firstEr = err
		}
		cancel()
	}
	loop := func(step func() (int, error), idle time.Duration) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := step()
			if err != nil {
				if ctx.Err() == nil {
					fail(err)
				}
				return
			}
			if got == 0 && idle > 0 {
				time.Sleep(idle)
			}
		}
	}
	const wait = 50 * time.Millisecond
	wg.Add(2 + len(relays))
	go loop(func() (int, error) { return ing.Step(ctx, wait) }, 0)
	relayIdle := time.Duration(0)
	if cfg.Relay == Polling {
		relayIdle = cfg.PollInterval
	}
	for i := range relays {
		go loop(func() (int, error) {
			got, err := relays[i].Step(ctx, wait)
			if err != nil && gate != nil && ctx.Err() == nil {
				// The broker was away: a supervisor restarts the relay,
				// which resumes from what it had confirmed.
				mu.Lock()
				res.RelayRestarts++
				stats = addStats(stats, relays[i].Stats())
				mu.Unlock()
				relays[i].Close()
				time.Sleep(100 * time.Millisecond)
				if relays[i], err = newRelay(); err != nil {
					relays[i] = nopRelay{}
					return 0, err
				}
				return 0, nil
			}
			return got, err
		}, relayIdle)
	}
	go loop(func() (int, error) { return down.Step(ctx, wait) }, 0)

	// The producer of orders, the outage and the outbox sampler.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := produceAt(ctx, k, in, orders, cfg.Rate); err != nil {
			fail(err)
		}
	}()
	if gate != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(cfg.OutageAt):
			case <-stop:
				return
			}
			gate.set(true)
			select {
			case <-time.After(cfg.Outage):
			case <-stop:
			}
			gate.set(false)
		}()
	}
	db, err := d.Open()
	if err != nil {
		return res, err
	}
	defer db.Close()
	tick := time.NewTicker(cfg.Sample)
	defer tick.Stop()
	for {
		var s OutboxAt
		var applied int
		if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM outbox WHERE published_at IS NULL), (SELECT count(DISTINCT event_id) FROM downstream_applied)").Scan(&s.Rows, &s.Unpublished, &applied); err != nil {
			if ctx.Err() != nil {
				break
			}
			fail(fmt.Errorf("outbox: sample: %w", err))
			break
		}
		if cfg.Relay == LogBased {
			if err := db.QueryRowContext(ctx, "SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&s.SlotLag); err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("outbox: sample the slot: %w", err))
				break
			}
		}
		s.At = time.Since(began)
		res.Outbox = append(res.Outbox, s)
		if applied >= cfg.Orders {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Took = time.Since(began)
	close(stop)
	wg.Wait()
	if firstEr != nil {
		return res, firstEr
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("outbox: the flow did not finish within %v", MaxRun)
	}
	res.Throughput = float64(cfg.Orders) / res.Took.Seconds()
	res.Relay = stats
	for _, r := range relays {
		res.Relay = addStats(res.Relay, r.Stats())
	}
	res.Latency = res.Relay.Latency
	h, err := Collect(context.Background(), d, k, orders, out)
	if err != nil {
		return res, err
	}
	res.Report = Check(h)
	return res, nil
}

// addStats sums two relay lives.
func addStats(a, b RelayStats) RelayStats {
	a.Published += b.Published
	a.Confirms += b.Confirms
	a.Latency = append(a.Latency, b.Latency...)
	return a
}

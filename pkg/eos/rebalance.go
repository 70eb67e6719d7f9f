package eos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ChurnConfig shapes one Rebalances run.
type ChurnConfig struct {
	// Every is how often the group's membership changes: every Every an
	// extra instance joins, and Every later it leaves, so the group
	// rebalances twice per 2*Every (0: never, the steady baseline).
	Every time.Duration
	// Eager uses the eager range balancer, which revokes every partition
	// at every rebalance; the default is franz-go's cooperative-sticky
	// balancer, which revokes only the partitions that move (KIP-429).
	Eager bool
	// Records, Partitions, Batch and Work shape the load (defaults 3,000
	// records on 6 partitions, 25 records per transaction, 10 ms of work
	// per batch between produce and commit). Work bounds each instance to
	// about 2,500 records/s, so a run lasts about as long on kfake as on
	// a real broker and the churn has time to act.
	Records, Partitions, Batch int
	Work                       time.Duration
	// Seed draws the input's keys.
	Seed uint64
	// Midway, when not nil, runs once, while the instances keep working,
	// after half of the input was committed (a broker restart, say). Its
	// error ends the run.
	Midway func(context.Context) error
}

func (c *ChurnConfig) defaults() {
	if c.Records <= 0 {
		c.Records = 3000
	}
	if c.Partitions <= 0 {
		c.Partitions = 6
	}
	if c.Batch <= 0 {
		c.Batch = 25
	}
	if c.Work <= 0 {
		c.Work = 10 * time.Millisecond
	}
}

// Churn is what one Rebalances run measured.
type Churn struct {
	ChurnConfig
	Engine   string
	Balancer string
	// Rebalances counts the membership changes the run caused (joins and
	// leaves of the extra instance); Revocations counts the times an
	// instance was told to give partitions up, which is what aborts an
	// open transaction.
	Rebalances, Revocations int
	// Commits and Aborts count transactions; an abort here is
	// GroupTransactSession.End refusing to commit after a revocation, or
	// a transaction whose produce or End failed.
	Commits, Aborts int
	// Restarts counts instances that closed and started over after End
	// failed (a broker restart does that).
	Restarts int
	// Stalls counts the times the group's committed offsets stood still
	// for StallAfter while records were left, and every instance was
	// made to start over, as a supervisor's liveness probe would restart
	// them (after a broker restart a client can stay stuck on a partition
	// it no longer fetches).
	Stalls int
	// Invisible counts transactions End reported committed whose records
	// the read_committed output does not hold: the broker aborted them
	// after all (a restart can). Their input offsets were not committed
	// either, so another instance processed the batch again; the run
	// ends when the group's committed offsets reach the input's end, not
	// when the instances believe they committed every record.
	Invisible int
	// CoordinatorRequests counts the requests the instances sent to the
	// transaction and group coordinators, by request name.
	CoordinatorRequests map[string]int
	// Lag is the group's consumer lag sampled every 50 ms: input records
	// not yet committed, summed over partitions. The input is written
	// before the run, so it starts at Records and drains to 0.
	Lag []LagAt
	// Report is the checker's verdict on what a read_committed consumer
	// of the output read.
	Report Report
	Took   time.Duration
}

// LagAt is one sample of a group's consumer lag.
type LagAt struct {
	At      time.Duration
	Records int64
}

// AbortRate is the share of transactions that aborted.
func (c Churn) AbortRate() float64 {
	if c.Commits+c.Aborts == 0 {
		return 0
	}
	return float64(c.Aborts) / float64(c.Commits+c.Aborts)
}

// PerSecond is how many membership changes per second the run had.
func (c Churn) PerSecond() float64 {
	if c.Took <= 0 {
		return 0
	}
	return float64(c.Rebalances) / c.Took.Seconds()
}

// MaxChurnRun bounds one Rebalances run.
const MaxChurnRun = 2 * time.Minute

// StallAfter is how long the group's committed offsets may stand still,
// with records left, before every instance is restarted.
const StallAfter = 20 * time.Second

// stepTimeout bounds one produce and one End of a churn instance.
const stepTimeout = 15 * time.Second

// coordinatorKeys are the requests counted in Churn.CoordinatorRequests.
var coordinatorKeys = map[int16]bool{
	(&kmsg.FindCoordinatorRequest{}).Key():    true,
	(&kmsg.InitProducerIDRequest{}).Key():     true,
	(&kmsg.AddPartitionsToTxnRequest{}).Key(): true,
	(&kmsg.AddOffsetsToTxnRequest{}).Key():    true,
	(&kmsg.TxnOffsetCommitRequest{}).Key():    true,
	(&kmsg.EndTxnRequest{}).Key():             true,
	(&kmsg.JoinGroupRequest{}).Key():          true,
	(&kmsg.SyncGroupRequest{}).Key():          true,
	(&kmsg.HeartbeatRequest{}).Key():          true,
	(&kmsg.LeaveGroupRequest{}).Key():         true,
	(&kmsg.OffsetFetchRequest{}).Key():        true,
}

// writeHook counts the coordinator requests a client writes.
type writeHook func(key int16)

// OnBrokerWrite implements kgo.HookBrokerWrite.
func (h writeHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err == nil && coordinatorKeys[key] {
		h(key)
	}
}

// Rebalances runs a transactional read-process-write job in a consumer
// group while the group's membership changes every cfg.Every, and counts
// what the rebalances cost. Two instances work throughout, each with its
// own transactional.id (one producer per instance, KIP-447); a third joins
// and leaves. A rebalance that revokes partitions from an instance with
// a transaction open makes franz-go's GroupTransactSession abort it at
// End: its batch is processed again by whoever owns the partitions next.
// The checker then reads the output read_committed: however often the
// group rebalanced, it must hold every input record exactly once.
func Rebalances(ctx context.Context, k *engines.KafkaEngine, cfg ChurnConfig) (Churn, error) {
	cfg.defaults()
	c := Churn{ChurnConfig: cfg, Engine: k.Name, Balancer: "cooperative-sticky", CoordinatorRequests: map[string]int{}}
	if cfg.Eager {
		c.Balancer = "range (eager)"
	}
	switch {
	case cfg.Every < 0 || (cfg.Every > 0 && cfg.Every < 50*time.Millisecond):
		return c, fmt.Errorf("Every must be 0 (no churn) or at least 50ms, not %v", cfg.Every)
	case cfg.Records > 100_000 || cfg.Partitions > 64 || cfg.Work > time.Second:
		return c, fmt.Errorf("at most 100000 records, 64 partitions and 1s of work per batch (got %d, %d, %v)", cfg.Records, cfg.Partitions, cfg.Work)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, MaxChurnRun)
	defer cancel()
	name := fmt.Sprintf("eos-churn-%s-%d", process, runs.Add(1))
	in, out := name+"-in", name+"-out"
	for _, t := range []string{in, out} {
		if err := k.CreateTopic(ctx, t, int32(cfg.Partitions), -1); err != nil {
			return c, err
		}
	}
	defer deleteTopics(k, in, out)
	inputs, err := WriteInput(ctx, k, in, cfg.Records, 20, rand.New(rand.NewPCG(cfg.Seed, 6)))
	if err != nil {
		return c, err
	}

	var (
		mu      sync.Mutex
		aborted = map[string]bool{}
		claimed []string     // writers End reported committed
		done    atomic.Int64 // input records committed
		runErr  error
		wg      sync.WaitGroup
		// last holds the last error of each kind the instances saw and
		// lastLag the last lag sample per partition: what a run that
		// times out reports, so a stall says where it stalled.
		last    = map[string]string{}
		lastLag string
		owners  = map[int32]string{}  // input partition -> instance/life that owns it
		lives   = map[int]int{}       // sessions begun, by instance
		empty   = map[string]int{}    // polls that returned nothing in a row, by instance/life
		kick    = make(chan struct{}) // closed (and replaced) to restart every instance
	)
	kicked := func() <-chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		return kick
	}
	note := func(kind string, err error) {
		mu.Lock()
		last[kind] = err.Error()
		mu.Unlock()
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if runErr == nil {
			runErr = err
			cancel()
		}
	}
	count := writeHook(func(key int16) {
		mu.Lock()
		c.CoordinatorRequests[kmsg.NameForKey(key)]++
		mu.Unlock()
	})
	finished := make(chan struct{})
	var finishOnce sync.Once
	txns := map[int]int{} // transactions begun, by instance, across its restarts
	var session func(id int, stop <-chan struct{}) (bool, error)
	// work runs instance id, session after session, until one ends
	// without asking to start over.
	work := func(id int, stop <-chan struct{}) {
		defer wg.Done()
		for {
			again, err := session(id, stop)
			if err != nil {
				fail(fmt.Errorf("instance %d: %w", id, err))
				return
			}
			if !again {
				return
			}
			mu.Lock()
			c.Restarts++
			mu.Unlock()
		}
	}
	// session runs one life of instance id: a GroupTransactSession that
	// works until every record is committed or stop is closed (it
	// finishes the transaction it is in before it leaves). It returns
	// again=true when End failed: franz-go says no End error is
	// retriable, so the instance closes its client and starts over with
	// the same transactional.id, as a supervisor would restart it.
	session = func(id int, stop <-chan struct{}) (again bool, err error) {
		mu.Lock()
		lives[id]++
		life := fmt.Sprintf("i%d.%d", id, lives[id])
		mu.Unlock()
		bal := kgo.CooperativeStickyBalancer()
		if cfg.Eager {
			bal = kgo.RangeBalancer()
		}
		s, err := kgo.NewGroupTransactSession(
			kgo.SeedBrokers(k.Brokers...),
			kgo.ConsumerGroup(name),
			kgo.ConsumeTopics(in),
			kgo.Balancers(bal),
			kgo.HeartbeatInterval(100*time.Millisecond),
			// An instance that starts over joins as a new member; its old
			// self holds its partitions until this timeout (franz-go's
			// default 45s), so the rebalance waits that long.
			kgo.SessionTimeout(10*time.Second),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.FetchMaxWait(50*time.Millisecond),
			kgo.RequireStableFetchOffsets(),
			kgo.TransactionalID(fmt.Sprintf("%s-w%d", name, id)),
			kgo.DefaultProduceTopic(out),
			kgo.ProducerLinger(0),
			// A transaction left open by a broker restart blocks
			// read_committed readers until the broker aborts it at this
			// timeout (franz-go's default is 40s): 10s keeps a restarted
			// run from stalling behind it.
			kgo.TransactionTimeout(10*time.Second),
			kgo.WithHooks(count),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, as map[string][]int32) {
				mu.Lock()
				for _, p := range as[in] {
					owners[p] = life
				}
				mu.Unlock()
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, rev map[string][]int32) {
				if len(rev[in]) == 0 {
					return
				}
				mu.Lock()
				c.Revocations++
				for _, p := range rev[in] {
					if owners[p] == life {
						owners[p] = life + "(revoked)"
					}
				}
				mu.Unlock()
			}),
			kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
				mu.Lock()
				for _, p := range lost[in] {
					if owners[p] == life {
						owners[p] = life + "(lost)"
					}
				}
				mu.Unlock()
			}),
		)
		if err != nil {
			return false, err
		}
		defer s.Close()
		restart := kicked()
		for {
			select {
			case <-stop:
				return false, nil
			case <-finished:
				return false, nil
			case <-restart:
				return true, nil
			default:
			}
			pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
			fs := s.PollRecords(pctx, cfg.Batch)
			pcancel()
			if ctx.Err() != nil {
				return false, nil
			}
			rs, err := poll(context.Background(), fs)
			if err != nil {
				note("fetch", err)
				return true, nil // a fetch failed (a broker went away): start over
			}
			mu.Lock()
			if len(rs) == 0 {
				empty[life]++
				mu.Unlock()
				continue
			}
			empty[life] = 0
			txns[id]++
			writer := fmt.Sprintf("w%d/t%d", id, txns[id])
			mu.Unlock()
			if err := s.Begin(); err != nil {
				return false, fmt.Errorf("begin: %w", err)
			}
			recs, err := (&Pipeline{Output: out}).output(rs, writer)
			if err != nil {
				return false, err
			}
			// Produce and End get a bound of their own: after a broker
			// restart either can wait on a coordinator that is still
			// loading for as long as the run's context allows; an instance
			// that times out starts over, as a supervisor would restart it.
			pctx2, pcancel2 := context.WithTimeout(ctx, stepTimeout)
			perr := s.ProduceSync(pctx2, recs...).FirstErr()
			pcancel2()
			produced := perr == nil
			if perr != nil {
				note("produce", perr)
			}
			if produced {
				time.Sleep(cfg.Work)
			}
			ectx, ecancel := context.WithTimeout(ctx, stepTimeout)
			committed, endErr := s.End(ectx, kgo.TransactionEndTry(produced))
			ecancel()
			if ctx.Err() != nil {
				return false, nil
			}
			if endErr != nil {
				note("end", endErr)
			}
			mu.Lock()
			if committed && endErr == nil {
				c.Commits++
				claimed = append(claimed, writer)
			} else {
				c.Aborts++
				aborted[writer] = true
			}
			mu.Unlock()
			switch {
			case endErr != nil && step.IsFenced(endErr):
				return false, fmt.Errorf("transaction %s: fenced, but every instance has its own transactional.id: %w", writer, endErr)
			case endErr != nil:
				return true, nil
			case committed:
				done.Add(int64(len(rs)))
			}
		}
	}

	began := time.Now()
	wg.Add(2)
	go work(1, nil)
	go work(2, nil)
	// The churn: an extra instance joins, works for Every, leaves, and
	// the next joins Every later.
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		if cfg.Every == 0 {
			return
		}
		for id := 3; ; id++ {
			select {
			case <-finished:
				return
			case <-ctx.Done():
				return
			case <-time.After(cfg.Every):
			}
			stop := make(chan struct{})
			wg.Add(1)
			mu.Lock()
			c.Rebalances++ // the join
			mu.Unlock()
			go work(id, stop)
			select {
			case <-finished:
			case <-ctx.Done():
			case <-time.After(cfg.Every):
			}
			close(stop)
			mu.Lock()
			c.Rebalances++ // the leave
			mu.Unlock()
		}
	}()
	// Lag and the midway fault, sampled while the instances work.
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		cl, err := k.Client()
		if err != nil {
			fail(err)
			return
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		midway := cfg.Midway
		lastLagValue, movedAt := int64(-1), time.Now()
		for {
			select {
			case <-finished:
				return
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			if midway != nil && done.Load() >= int64(cfg.Records/2) {
				if err := midway(ctx); err != nil {
					fail(fmt.Errorf("midway: %w", err))
					return
				}
				midway = nil
			}
			lctx, lcancel := context.WithTimeout(ctx, time.Second)
			lags, err := adm.Lag(lctx, name)
			lcancel()
			l, ok := lags[name]
			if err != nil || !ok || l.Error() != nil {
				movedAt = time.Now() // a stall is counted only while the group answers
				continue             // a rebalancing or restarting group may not answer
			}
			total := l.Lag.TotalByTopic()[in].Lag
			mu.Lock()
			c.Lag = append(c.Lag, LagAt{At: time.Since(began), Records: total})
			lastLag = lagByPartition(l.Lag, in)
			if total != lastLagValue {
				lastLagValue, movedAt = total, time.Now()
			} else if total > 0 && time.Since(movedAt) > StallAfter {
				c.Stalls++
				close(kick)
				kick = make(chan struct{})
				movedAt = time.Now()
			}
			mu.Unlock()
			if drained(l.Lag, in, cfg.Partitions) {
				finishOnce.Do(func() { close(finished) })
			}
		}
	}()
	select {
	case <-finished:
	case <-ctx.Done():
	}
	c.Took = time.Since(began)
	<-churned
	wg.Wait()
	<-lagDone
	if runErr != nil {
		return c, runErr
	}
	if ctx.Err() != nil {
		return c, fmt.Errorf("%s: the group committed %d of %d records within %v (%d commits, %d aborts, %d restarts, %d stalls; lag by partition %s; owners %v; empty polls in a row %v; last errors %v)",
			k.Name, done.Load(), cfg.Records, MaxChurnRun, c.Commits, c.Aborts, c.Restarts, c.Stalls, lastLag, owners, empty, last)
	}
	rctx, rcancel := context.WithTimeout(parent, 30*time.Second)
	defer rcancel()
	reads, err := ReadOutput(rctx, k, out, cfg.Partitions, kgo.ReadCommitted())
	if err != nil {
		return c, err
	}
	c.Report = Check(History{Inputs: inputs, Aborted: aborted, Reads: reads})
	seen := map[string]bool{}
	for _, r := range reads {
		seen[r.Writer] = true
	}
	for _, w := range claimed {
		if !seen[w] {
			c.Invisible++
		}
	}
	return c, nil
}

// drained reports whether the group has committed every partition of
// topic up to its end offset: the ground truth that every input record
// was processed, which the instances' own count of commits is not (End
// can report a commit the broker later aborts).
func drained(lag kadm.GroupLag, topic string, partitions int) bool {
	ps := lag[topic]
	if len(ps) < partitions {
		return false
	}
	for _, p := range ps {
		if p.Err != nil || p.Commit.At < 0 || p.Lag != 0 {
			return false
		}
	}
	return true
}

// lagByPartition prints topic's lag partition by partition, with the
// committed offset, for a run's diagnosis.
func lagByPartition(lag kadm.GroupLag, topic string) string {
	var b strings.Builder
	for _, p := range lag.Sorted() {
		if p.Topic != topic {
			continue
		}
		fmt.Fprintf(&b, "p%d:%d@%d ", p.Partition, p.Lag, p.Commit.At)
	}
	return strings.TrimSpace(b.String())
}

// RebalanceSweep runs Rebalances for every configuration, workers at a
// time (each run has its own group and topics, so they do not interfere
// beyond sharing the broker), and returns the results in cfgs' order.
// done, when not nil, is called after each run.
func RebalanceSweep(ctx context.Context, k *engines.KafkaEngine, cfgs []ChurnConfig, workers int, done func()) ([]Churn, error) {
	if workers < 1 {
		workers = 1
	}
	out := make([]Churn, len(cfgs))
	errs := make([]error, len(cfgs))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = Rebalances(ctx, k, cfg)
			if done != nil {
				done()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("churn every %v, %s: %w", cfgs[i].Every, out[i].Balancer, err)
		}
	}
	return out, nil
}

package eos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runTxn runs Transactional mode with franz-go's GroupTransactSession: the
// transactional.id is the group name, so a restarted instance fences the
// one before it (InitProducerID bumps the epoch and aborts its open
// transaction, KIP-98). One batch:
//
//	poll, AfterConsume, [the step: Begin, produce half, MidOutput, produce rest,
//	BeforeCommit, End (offsets + commit)], AfterCommit
//
// The step is Rules.Txn (exercise eos/txn); the crash points inside it are
// injected by the Session it is given. A step that returns Retry has seen
// its transaction aborted: the session rewound to the last committed
// offsets, and the batch is polled again.
func (p *Pipeline) runTxn(ctx context.Context, inst *Instance, crash Crash, ends map[int32]int64) error {
	pos, err := p.committed(ctx)
	if err != nil {
		return err
	}
	prog := progress{pos: pos, ends: ends}
	opts := append(p.consumerOpts(),
		kgo.SeedBrokers(p.Kafka.Brokers...),
		kgo.TransactionalID(p.Group),
		kgo.DefaultProduceTopic(p.Output),
		kgo.RequireStableFetchOffsets(),
	)
	if p.TxnTimeout > 0 {
		opts = append(opts, kgo.TransactionTimeout(p.TxnTimeout))
	}
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	// A crash closes the client with the transaction open: the records it
	// flushed stay on the broker, uncommitted, until the next instance
	// fences it.
	defer s.Client().Close()
	// Fence the previous instance first, as the Java client's
	// initTransactions() does: loading the producer id bumps the
	// transactional.id's epoch, and the coordinator aborts a transaction
	// the previous instance left open. franz-go would otherwise load it
	// only at the first produce, and an instance with nothing left to
	// consume would leave that transaction open until its timeout (40 s
	// by default), holding read_committed readers back the whole time.
	if _, _, err := s.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("initialise transactional id %s (fence the previous instance): %w", p.Group, err)
	}
	txnStep := p.Rules.txn()
	for b, txn := 0, 0; !prog.done(); {
		rs, err := poll(ctx, s.PollRecords(ctx, p.batch()))
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			continue
		}
		if crash.at(AfterConsume, b) {
			return crash.die()
		}
		txn++
		writer := fmt.Sprintf("w%d/t%d", inst.ID, txn)
		out, err := p.output(rs, writer)
		if err != nil {
			return err
		}
		if p.Events != nil {
			fmt.Fprintf(p.Events, "begin %s\n", writer)
		}
		cs := &crashSession{s: s, crash: crash, batch: b, half: len(out) / 2}
		began := time.Now()
		outcome, err := txnStep(ctx, cs, out)
		if p.Stats != nil {
			p.Stats.TxnTime += time.Since(began)
		}
		if cs.dead {
			inst.Aborted = append(inst.Aborted, writer)
			return errCrash
		}
		if err != nil {
			inst.Aborted = append(inst.Aborted, writer)
			return p.fatal(err)
		}
		if outcome != step.Committed || !cs.committed {
			if outcome == step.Committed {
				return fmt.Errorf("the transactional step returned Committed for batch %d, but End did not commit it", b)
			}
			inst.Aborted = append(inst.Aborted, writer)
			p.abort()
			continue
		}
		if p.Stats != nil {
			p.Stats.Commits++
		}
		if p.Events != nil {
			fmt.Fprintf(p.Events, "commit %s\n", writer)
		}
		prog.advance(rs)
		inst.Processed += len(rs)
		p.count(len(rs))
		if crash.at(AfterCommit, b) {
			return crash.die()
		}
		b++
	}
	return nil
}

// errDead is what a crashed session answers: the process is gone.
var errDead = errors.New("the instance crashed: this session is dead")

// crashSession is the step.Session a transactional step gets: franz-go's
// session, with the instance's crash points (MidOutput once half of the
// batch was produced, BeforeCommit at End with TryCommit) injected. After
// a crash every call fails, as nothing runs in a killed process.
type crashSession struct {
	s               *kgo.GroupTransactSession
	crash           Crash
	batch, half     int
	produced        int
	dead, committed bool
	afterDead       int
}

func (c *crashSession) died() error {
	c.afterDead++
	if c.afterDead > 1000 {
		panic("the transactional step kept calling a crashed session 1,000 times: it must stop on an error it cannot handle")
	}
	return errDead
}

func (c *crashSession) Begin() error {
	if c.dead {
		return c.died()
	}
	return c.s.Begin()
}

func (c *crashSession) Produce(ctx context.Context, rs ...*kgo.Record) error {
	if c.dead {
		return c.died()
	}
	if c.crash.at(MidOutput, c.batch) && c.produced+len(rs) > c.half {
		first := rs[:max(0, c.half-c.produced)]
		if len(first) > 0 {
			if err := c.s.ProduceSync(ctx, first...).FirstErr(); err != nil {
				return err
			}
		}
		_ = c.crash.die()
		c.dead = true
		return errDead
	}
	c.produced += len(rs)
	return c.s.ProduceSync(ctx, rs...).FirstErr()
}

func (c *crashSession) End(ctx context.Context, try kgo.TransactionEndTry) (bool, error) {
	if c.dead {
		return false, c.died()
	}
	if try == kgo.TryCommit && c.crash.at(BeforeCommit, c.batch) {
		_ = c.crash.die()
		c.dead = true
		return false, errDead
	}
	committed, err := c.s.End(ctx, try)
	c.committed = committed && err == nil
	return committed, err
}

func (c *crashSession) CommitOffsets(ctx context.Context) error {
	if c.dead {
		return c.died()
	}
	return c.s.Client().CommitUncommittedOffsets(ctx)
}

func (p *Pipeline) abort() {
	if p.Stats != nil {
		p.Stats.Aborts++
	}
}

// fatal wraps an error that ends a transactional instance, counting and
// naming fencing: a fenced producer must stop, never retry.
func (p *Pipeline) fatal(err error) error {
	if step.IsFenced(err) {
		if p.Stats != nil {
			p.Stats.Fenced++
		}
		return fmt.Errorf("fenced: another instance with transactional.id %s took over: %w", p.Group, err)
	}
	if errors.Is(err, kerr.InvalidTransactionTimeout) {
		return fmt.Errorf("the broker refused transaction timeout %v: it is above its transaction.max.timeout.ms (default 15 minutes); lower Pipeline.TxnTimeout: %w", p.TxnTimeout, err)
	}
	return fmt.Errorf("transactional step: %w", err)
}

package eos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runTxn runs Transactional mode with franz-go's GroupTransactSession: the
// transactional.id is the group name, so a restarted instance fences the
// one before it (InitProducerID bumps the epoch and aborts its open
// transaction, KIP-98). One batch:
//
//	poll, AfterConsume, Begin, produce half, MidOutput, produce rest, BeforeCommit,
//	End (offsets + commit), AfterCommit
//
// End returns committed=false when the session aborted (a rebalance since
// Begin, a failed offset commit): the session then rewinds to the last
// committed offsets and the batch is processed again.
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
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	// A crash closes the client with the transaction open: the records it
	// flushed stay on the broker, uncommitted, until the next instance
	// fences it.
	defer s.Client().Close()
batches:
	for b, txn := 0, 0; !prog.done(); {
		rs, err := poll(ctx, s.PollRecords(ctx, p.batch()))
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			continue
		}
		if crash.at(AfterConsume, b) {
			return errCrash
		}
		txn++
		writer := fmt.Sprintf("w%d/t%d", inst.ID, txn)
		out, err := p.output(rs, writer)
		if err != nil {
			return err
		}
		began := time.Now()
		if err := s.Begin(); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		half := len(out) / 2
		for i, part := range [][]*kgo.Record{out[:half], out[half:]} {
			if len(part) > 0 {
				if err := s.ProduceSync(ctx, part...).FirstErr(); err != nil {
					// An abortable produce error: abort, rewind, retry.
					inst.Aborted = append(inst.Aborted, writer)
					if _, endErr := s.End(ctx, kgo.TryAbort); endErr != nil {
						return p.fatal(endErr)
					}
					p.abort()
					continue batches
				}
			}
			if i == 0 && crash.at(MidOutput, b) {
				inst.Aborted = append(inst.Aborted, writer)
				return errCrash
			}
		}
		if crash.at(BeforeCommit, b) {
			inst.Aborted = append(inst.Aborted, writer)
			return errCrash
		}
		committed, err := s.End(ctx, kgo.TryCommit)
		if p.Stats != nil {
			p.Stats.TxnTime += time.Since(began)
		}
		if err != nil {
			inst.Aborted = append(inst.Aborted, writer)
			return p.fatal(err)
		}
		if !committed {
			inst.Aborted = append(inst.Aborted, writer)
			p.abort()
			continue
		}
		if p.Stats != nil {
			p.Stats.Commits++
		}
		prog.advance(rs)
		inst.Processed += len(rs)
		p.count(len(rs))
		if crash.at(AfterCommit, b) {
			return errCrash
		}
		b++
	}
	return nil
}

func (p *Pipeline) abort() {
	if p.Stats != nil {
		p.Stats.Aborts++
	}
}

// fatal wraps an error that ends a transactional instance, counting and
// naming fencing: a fenced producer must stop, never retry.
func (p *Pipeline) fatal(err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		if p.Stats != nil {
			p.Stats.Fenced++
		}
		return fmt.Errorf("fenced: another instance with transactional.id %s took over: %w", p.Group, err)
	}
	return fmt.Errorf("end transaction: %w", err)
}

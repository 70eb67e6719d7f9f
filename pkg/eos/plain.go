package eos

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runPlain runs the three modes without transactions. The order of one
// batch, with the crash points where they fall:
//
//	at-most-once:               poll, commit, AfterConsume, produce half, MidOutput, produce rest, BeforeCommit, AfterCommit
//	at-least-once (idempotent): poll, AfterConsume, produce half, MidOutput, produce rest, BeforeCommit, commit, AfterCommit
//
// (at-most-once has committed before its output, so its "before commit"
// point lies after the commit: nothing is left to lose there.)
func (p *Pipeline) runPlain(ctx context.Context, inst *Instance, crash Crash, ends map[int32]int64) error {
	pos, err := p.committed(ctx)
	if err != nil {
		return err
	}
	prog := progress{pos: pos, ends: ends}
	opts := append(p.consumerOpts(), kgo.DefaultProduceTopic(p.Output))
	if p.Mode == AtLeastOnce {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	cl, err := p.Kafka.Client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	produce := func(rs []*kgo.Record) error {
		if len(rs) == 0 {
			return nil
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			return fmt.Errorf("produce to %s: %w", p.Output, err)
		}
		return nil
	}
	commit := func(rs []*kgo.Record) error {
		if err := cl.CommitRecords(ctx, rs...); err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", p.Group, err)
		}
		return nil
	}
	for b := 0; !prog.done(); {
		rs, err := poll(ctx, cl.PollRecords(ctx, p.batch()))
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			continue
		}
		if p.Mode == AtMostOnce {
			if err := commit(rs); err != nil {
				return err
			}
		}
		if crash.at(AfterConsume, b) {
			return crash.die()
		}
		out, err := p.output(rs, "")
		if err != nil {
			return err
		}
		half := len(out) / 2
		if err := produce(out[:half]); err != nil {
			return err
		}
		if crash.at(MidOutput, b) {
			return crash.die()
		}
		if err := produce(out[half:]); err != nil {
			return err
		}
		if crash.at(BeforeCommit, b) {
			return crash.die()
		}
		if p.Mode != AtMostOnce {
			if err := commit(rs); err != nil {
				return err
			}
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

// count adds one finished batch of n records to Stats.
func (p *Pipeline) count(n int) {
	if p.Stats != nil {
		p.Stats.Batches++
		p.Stats.Records += n
	}
}

package eos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/twmb/franz-go/pkg/kgo"
)

// FenceEvent is one step of a fencing run, in the order it happened.
type FenceEvent struct {
	At       time.Duration // since the run began
	From, To string        // "zombie", "broker", "successor"; To empty for a note
	Text     string
}

// Fencing is what Zombie observed.
type Fencing struct {
	Engine string
	Events []FenceEvent
	// ZombieErr is what the zombie's commit returned: PRODUCER_FENCED (or
	// INVALID_PRODUCER_EPOCH from brokers before KIP-588).
	ZombieErr error
	// What consumers of the output saw: read_committed, then
	// read_uncommitted, as "zombie" or "successor" record counts.
	Committed, Uncommitted map[string]int
}

// Zombie plays the zombie scenario of KIP-98 on k with real clients: an
// instance (the zombie) begins a transaction and produces records, then
// stalls (a GC pause, a SIGSTOP, a network partition) long enough for the
// group to give its work to a successor with the same transactional.id.
// The successor's InitProducerID bumps the producer epoch, which fences
// the zombie and aborts its open transaction; the successor commits its
// own. When the zombie wakes up and commits, the broker refuses it. The
// run records every step with its time, for the sequence diagram.
func Zombie(ctx context.Context, k *engines.KafkaEngine, records int) (Fencing, error) {
	f := Fencing{Engine: k.Name}
	if records < 1 {
		return f, fmt.Errorf("records must be at least 1, not %d", records)
	}
	began := time.Now()
	event := func(from, to, format string, args ...any) {
		f.Events = append(f.Events, FenceEvent{At: time.Since(began), From: from, To: to, Text: fmt.Sprintf(format, args...)})
	}
	topic := fmt.Sprintf("eos-zombie-%s-%d", process, runs.Add(1))
	if err := k.CreateTopic(ctx, topic, 1, -1); err != nil {
		return f, err
	}
	defer deleteTopics(k, topic)
	txnID := topic + "-txn"
	open := func() (*kgo.Client, error) {
		return k.Client(kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	}
	batch := func(who string) []*kgo.Record {
		rs := make([]*kgo.Record, records)
		for i := range rs {
			rs[i] = &kgo.Record{Key: []byte(who), Value: fmt.Appendf(nil, "%d", i)}
		}
		return rs
	}
	zombie, err := open()
	if err != nil {
		return f, err
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		return f, err
	}
	if err := zombie.ProduceSync(ctx, batch("zombie")...).FirstErr(); err != nil {
		return f, fmt.Errorf("zombie produce: %w", err)
	}
	_, epoch, _ := zombie.ProducerID(ctx)
	event("zombie", "broker", "InitProducerId(%s): epoch %d", txnID, epoch)
	event("zombie", "broker", "begin; produce %d records (transaction open)", records)
	event("zombie", "", "stalls (GC pause, SIGSTOP): the group gives its partitions to a successor")

	successor, err := open()
	if err != nil {
		return f, err
	}
	defer successor.Close()
	if err := successor.BeginTransaction(); err != nil {
		return f, err
	}
	if err := successor.ProduceSync(ctx, batch("successor")...).FirstErr(); err != nil {
		return f, fmt.Errorf("successor produce: %w", err)
	}
	_, epoch2, _ := successor.ProducerID(ctx)
	event("successor", "broker", "InitProducerId(%s): epoch %d", txnID, epoch2)
	event("broker", "", "epoch %d fences epoch %d and aborts its open transaction", epoch2, epoch)
	event("successor", "broker", "begin; produce %d records", records)
	if err := successor.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return f, fmt.Errorf("successor commit: %w", err)
	}
	event("successor", "broker", "EndTxn(commit): committed")

	f.ZombieErr = zombie.EndTransaction(ctx, kgo.TryCommit)
	verdict := "accepted (fencing failed!)"
	if f.ZombieErr != nil {
		verdict = "refused: " + errName(f.ZombieErr)
	}
	event("zombie", "broker", "wakes up, EndTxn(commit): %s", verdict)

	for _, c := range []struct {
		level kgo.IsolationLevel
		into  *map[string]int
	}{{kgo.ReadCommitted(), &f.Committed}, {kgo.ReadUncommitted(), &f.Uncommitted}} {
		reads, err := ReadOutput(ctx, k, topic, 1, c.level)
		if err != nil {
			return f, err
		}
		*c.into = map[string]int{}
		for _, r := range reads {
			(*c.into)[r.Key]++
		}
	}
	return f, nil
}

// errName is the Kafka error's name (PRODUCER_FENCED), or the error.
func errName(err error) string {
	name, _, _ := strings.Cut(err.Error(), ":")
	if step.IsFenced(err) {
		return name
	}
	return err.Error()
}

// Fenced reports whether the zombie was refused with a fencing error.
func (f Fencing) Fenced() bool { return step.IsFenced(f.ZombieErr) }

// Mermaid draws the run as a sequence diagram.
func (f Fencing) Mermaid() string {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	b.WriteString("  participant zombie as instance 1 (the zombie)\n")
	b.WriteString("  participant broker as broker (transaction coordinator)\n")
	b.WriteString("  participant successor as instance 2 (its successor)\n")
	for _, e := range f.Events {
		text := fmt.Sprintf("%s · %s", e.At.Round(time.Millisecond), e.Text)
		text = strings.NewReplacer(";", ",", "#", "").Replace(text)
		if e.To == "" {
			fmt.Fprintf(&b, "  Note over %s: %s\n", e.From, text)
			continue
		}
		fmt.Fprintf(&b, "  %s->>%s: %s\n", e.From, e.To, text)
	}
	return b.String()
}

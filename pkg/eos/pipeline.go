package eos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WriterHeader is the output record header that names the instance and
// transaction that wrote it, like "w1/t7".
const WriterHeader = "writer"

// Pipeline is one read-process-write job: consume Input, enrich each
// record, write to Output (a topic, or the SQL table "output" of DB in
// IdempotentSink mode).
type Pipeline struct {
	Kafka  *engines.KafkaEngine
	Mode   Mode
	Input  string // input topic
	Output string // output topic (unused by IdempotentSink)
	Group  string // consumer group, also the transactional.id
	// Batch is how many records one poll takes (and one transaction
	// holds); 0 means 100.
	Batch int
	// DB is the sink of IdempotentSink mode (see OpenSink).
	DB *sql.DB
	// TxnTimeout is the transaction.timeout.ms of Transactional mode
	// (0: franz-go's default, 40 s); the broker refuses one above its
	// transaction.max.timeout.ms (default 15 minutes).
	TxnTimeout time.Duration
	// Stats, when not nil, counts what the instances did.
	Stats *Stats
	// Rules replaces the reference transactional step and sink.
	Rules Rules
	// Events, when not nil, gets a line "begin <writer>" before each
	// transaction and "commit <writer>" after each committed one, so that
	// a parent process learns which transactions a killed child left open.
	Events io.Writer
}

// Stats are the operational signals of a run, summed over its instances.
type Stats struct {
	Batches, Records int
	Commits, Aborts  int           // transactions committed and aborted
	Fenced           int           // instances stopped by PRODUCER_FENCED or a fenced epoch
	TxnTime          time.Duration // total time from Begin to End
}

// Instance is what one run of the pipeline did.
type Instance struct {
	ID        int
	Crashed   bool     // it died at its Crash
	Processed int      // input records it handled
	Aborted   []string // writers (see WriterHeader) whose transaction did not commit
}

// errCrash is how an instance dies at its crash point.
var errCrash = errors.New("crashed")

// enrich is the processing step: the output value for one input record
// (its seq, then the region the key belongs to, a lookup standing in for a
// join with reference data).
func enrich(key string, seq int) string {
	regions := []string{"us-east", "eu-west", "ap-south"}
	h := 0
	for _, c := range key {
		h = h*31 + int(c)
	}
	return strconv.Itoa(seq) + "|" + regions[(h%3+3)%3]
}

// parseSeq reads the seq back from an input or output value.
func parseSeq(v []byte) (int, error) {
	s, _, _ := strings.Cut(string(v), "|")
	return strconv.Atoi(s)
}

// Run runs instance id of the pipeline until it has processed every input
// record up to the input's end offsets at the time it starts, or until it
// dies at crash (then Crashed is set and the error is nil: a crash is an
// outcome, not a failure). A crash closes the client without committing,
// ending or leaving anything in order, as a killed process would.
func (p *Pipeline) Run(ctx context.Context, id int, crash Crash) (Instance, error) {
	inst := Instance{ID: id}
	if err := p.validate(); err != nil {
		return inst, err
	}
	ends, err := p.endOffsets(ctx)
	if err != nil {
		return inst, err
	}
	var runErr error
	switch p.Mode {
	case AtMostOnce, AtLeastOnce, IdempotentProducer:
		runErr = p.runPlain(ctx, &inst, crash, ends)
	case IdempotentSink:
		runErr = p.runSink(ctx, &inst, crash, ends)
	case Transactional:
		runErr = p.runTxn(ctx, &inst, crash, ends)
	default:
		return inst, fmt.Errorf("unknown mode %v", p.Mode)
	}
	if errors.Is(runErr, errCrash) {
		inst.Crashed = true
		runErr = nil
	}
	return inst, runErr
}

// validate says what is missing from p, before anything is contacted.
func (p *Pipeline) validate() error {
	var missing []string
	if p.Kafka == nil {
		missing = append(missing, "Kafka (the engine: engines.Kafka)")
	}
	if p.Input == "" {
		missing = append(missing, "Input (the input topic)")
	}
	if p.Output == "" && p.Mode != IdempotentSink {
		missing = append(missing, "Output (the output topic)")
	}
	if p.Group == "" {
		missing = append(missing, "Group (the consumer group, and in transactions mode the transactional.id: it must not be empty)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("pipeline in %v mode: set %s", p.Mode, strings.Join(missing, "; "))
	}
	if p.Batch < 0 || p.TxnTimeout < 0 {
		return fmt.Errorf("pipeline: Batch (%d) and TxnTimeout (%v) must not be negative", p.Batch, p.TxnTimeout)
	}
	return nil
}

func (p *Pipeline) batch() int {
	if p.Batch <= 0 {
		return 100
	}
	return p.Batch
}

// endOffsets returns the input's end offset per partition.
func (p *Pipeline) endOffsets(ctx context.Context) (map[int32]int64, error) {
	cl, err := p.Kafka.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// The first request also proves the broker is there: an unreachable
	// one fails here within ReachTimeout, naming what to fix.
	rctx, cancel := context.WithTimeout(ctx, engines.ReachTimeout)
	defer cancel()
	lo, err := kadm.NewClient(cl).ListEndOffsets(rctx, p.Input)
	if err != nil {
		var op *net.OpError
		switch {
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			return nil, p.noInput(err)
		case errors.As(err, &op) || (rctx.Err() != nil && ctx.Err() == nil):
			return nil, fmt.Errorf("%s did not answer within %v (is it running? make kafka starts one; unset %s for the embedded broker): %w",
				p.Kafka.Name, engines.ReachTimeout, engines.KafkaBrokersEnv, err)
		}
		return nil, fmt.Errorf("end offsets of %s: %w", p.Input, err)
	}
	ends := map[int32]int64{}
	var missing error
	lo.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
			missing = p.noInput(o.Err)
		case o.Err != nil:
			missing = fmt.Errorf("end offsets of %s: %w", p.Input, o.Err)
		}
		ends[o.Partition] = o.Offset
	})
	if missing != nil {
		return nil, missing
	}
	if len(ends) == 0 {
		return nil, p.noInput(nil)
	}
	return ends, nil
}

// noInput is the error for an input topic the broker does not have.
func (p *Pipeline) noInput(err error) error {
	msg := fmt.Sprintf("the input topic %q does not exist on %s: create it first (Kafka.CreateTopic, then WriteInput)", p.Input, p.Kafka.Name)
	if err == nil {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// committed returns the group's committed offsets on the input.
func (p *Pipeline) committed(ctx context.Context) (map[int32]int64, error) {
	cl, err := p.Kafka.Client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// A broker answers COORDINATOR_NOT_AVAILABLE while it creates
	// __consumer_offsets on first use: retry retriable errors for 10 s.
	adm := kadm.NewClient(cl)
	os, err := adm.FetchOffsets(ctx, p.Group)
	for deadline := time.Now().Add(10 * time.Second); err != nil && kerr.IsRetriable(err) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		os, err = adm.FetchOffsets(ctx, p.Group)
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil // a new group has committed nothing
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", p.Group, err)
	}
	pos := map[int32]int64{}
	for part, o := range os[p.Input] {
		if o.Err == nil && o.At >= 0 {
			pos[part] = o.At
		}
	}
	return pos, nil
}

// progress tracks how far an instance got on each input partition.
type progress struct{ pos, ends map[int32]int64 }

func (g progress) done() bool {
	for part, end := range g.ends {
		if g.pos[part] < end {
			return false
		}
	}
	return true
}

func (g progress) advance(rs []*kgo.Record) {
	for _, r := range rs {
		if r.Topic != "" && r.Offset+1 > g.pos[r.Partition] {
			g.pos[r.Partition] = r.Offset + 1
		}
	}
}

// output builds the output records of a batch.
func (p *Pipeline) output(rs []*kgo.Record, writer string) ([]*kgo.Record, error) {
	out := make([]*kgo.Record, 0, len(rs))
	for _, r := range rs {
		seq, err := parseSeq(r.Value)
		if err != nil {
			return nil, fmt.Errorf("input %s/%d@%d: value %q is not a sequence number", r.Topic, r.Partition, r.Offset, r.Value)
		}
		o := &kgo.Record{Topic: p.Output, Key: r.Key, Value: []byte(enrich(string(r.Key), seq))}
		if writer != "" {
			o.Headers = []kgo.RecordHeader{{Key: WriterHeader, Value: []byte(writer)}}
		}
		out = append(out, o)
	}
	return out, nil
}

// consumerOpts are the options every instance's consumer shares.
//
// Every instance has the same group.instance.id (static membership,
// KIP-345), as a restarted pod of a StatefulSet would: a restarted
// instance takes over its predecessor's membership at once instead of
// waiting for the killed member's session to time out (45 s by default).
func (p *Pipeline) consumerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(p.Group),
		kgo.InstanceID(p.Group + "-instance"),
		kgo.ConsumeTopics(p.Input),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DisableAutoCommit(),
	}
}

// poll returns the next batch, or an error if ctx ends first.
func poll(ctx context.Context, fs kgo.Fetches) ([]*kgo.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []error
	fs.EachError(func(t string, part int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("fetch %s/%d: %w", t, part, err))
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return fs.Records(), nil
}

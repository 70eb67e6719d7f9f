package session

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
)

// replica is one copy of the data. Replica 0 is the primary.
type replica struct {
	w        *world
	idx      int
	id       sim.NodeID
	region   sim.Region
	primary  bool
	store    map[string]uint64
	received uint64
	applied  uint64
	applyAt  time.Duration // when the last scheduled apply happens
	log      []entry       // the primary's log; log[lsn-1]
	queue    []queued      // received, not yet applied, in log order
	asked    uint64        // the position of the last catch-up request
	askedAt  time.Duration // when it was sent
	held     []heldRead
	acks     []heldAck
	rng      *rand.Rand
	silent   bool // down and unreachable (else down and refusing)
	reads    int  // reads answered
	writes   int  // writes accepted from clients (committed or forwarded)
}

type queued struct {
	entry
	at time.Duration // when it is applied
}

type heldRead struct {
	id     uint64
	from   sim.NodeID
	key    string
	minPos uint64
	timer  *sim.Timer
}

type heldAck struct {
	lsn uint64
	ack writeAck
}

func (r *replica) handle(from sim.NodeID, msg any) {
	r.advance()
	switch m := msg.(type) {
	case writeReq:
		r.writes++
		if r.primary {
			r.commit(from, m)
			return
		}
		// A pinned replica forwards the write and answers once it has
		// applied it itself.
		r.w.net.Send(r.id, r.w.replicas[0].id, writeReq{id: m.id, key: m.key, client: m.client})
	case writeAck:
		if r.applied >= m.lsn {
			r.w.net.Send(r.id, m.client, m)
			return
		}
		r.acks = append(r.acks, heldAck{lsn: m.lsn, ack: m})
		r.wakeFor(m.lsn)
	case entry:
		r.receive(m)
	case catchUp:
		if !r.primary {
			return
		}
		for lsn := m.from; lsn >= 1 && lsn <= uint64(len(r.log)); lsn++ {
			r.w.net.Send(r.id, from, r.log[lsn-1])
		}
	case readReq:
		if m.wait <= 0 || r.applied >= m.minPos {
			r.answer(from, m.id, m.key)
			return
		}
		h := heldRead{id: m.id, from: from, key: m.key, minPos: m.minPos}
		id := m.id
		h.timer = r.w.net.Timer(r.id, m.wait, func() { r.expire(id) })
		r.held = append(r.held, h)
		r.wakeFor(m.minPos)
	}
}

// advance applies every received entry whose apply time has come. Entries
// are applied lazily, whenever the replica does something, rather than
// each by its own timer; wakeFor sets a timer when someone waits.
func (r *replica) advance() {
	now := r.w.s.Now()
	for len(r.queue) > 0 && r.queue[0].at <= now {
		q := r.queue[0]
		r.queue = r.queue[1:]
		r.apply(q)
	}
}

// wakeFor makes sure the replica wakes up when it applies lsn, if lsn is
// already received (receive takes care of it otherwise).
func (r *replica) wakeFor(lsn uint64) {
	if len(r.queue) == 0 || lsn <= r.applied || lsn > r.received {
		return
	}
	q := r.queue[lsn-r.queue[0].lsn]
	r.w.net.Timer(r.id, q.at-r.w.s.Now(), r.advance)
}

func (r *replica) answer(to sim.NodeID, id uint64, key string) {
	r.reads++
	r.w.net.Send(r.id, to, readResp{id: id, version: r.store[key], applied: r.applied, received: r.received})
}

func (r *replica) expire(id uint64) {
	r.advance()
	for i, h := range r.held {
		if h.id == id {
			r.held = slices.Delete(r.held, i, i+1)
			r.w.net.Send(r.id, h.from, readResp{id: id, applied: r.applied, received: r.received, behind: true})
			return
		}
	}
}

// commit is the primary's write path: the next log position, applied at
// once, acknowledged, and shipped to every other replica.
func (r *replica) commit(from sim.NodeID, m writeReq) {
	lsn := uint64(len(r.log)) + 1
	e := entry{lsn: lsn, key: m.key}
	r.log = append(r.log, e)
	r.w.commitAt = append(r.w.commitAt, r.w.s.Now())
	r.received, r.applied = lsn, lsn
	r.store[m.key] = lsn
	r.w.net.Send(r.id, from, writeAck{id: m.id, lsn: lsn, client: m.client})
	for _, o := range r.w.replicas[1:] {
		r.w.net.Send(r.id, o.id, e)
	}
}

// receive takes the next log entry off the stream and schedules its apply
// after the replica's lag; entries are applied in log order.
func (r *replica) receive(e entry) {
	if e.lsn <= r.received {
		return // a duplicate, from a catch-up overlapping the stream
	}
	if e.lsn != r.received+1 {
		// A gap: entries were lost while this replica was down.
		r.askCatchUp()
		return
	}
	r.received = e.lsn
	now := r.w.s.Now()
	lag := r.w.cfg.Lag
	if r.w.cfg.ReplicaLag != nil {
		lag = r.w.cfg.ReplicaLag[r.idx]
	}
	if j := r.w.cfg.LagJitter; j > 0 && lag > 0 {
		lag = time.Duration(float64(lag) * (1 - j + 2*j*r.rng.Float64()))
	}
	at := max(r.applyAt, now+lag)
	r.applyAt = at
	r.queue = append(r.queue, queued{entry: e, at: at})
	if len(r.held) > 0 || len(r.acks) > 0 {
		r.w.net.Timer(r.id, at-now, r.advance)
	}
}

func (r *replica) apply(q queued) {
	e := q.entry
	r.applied = e.lsn
	r.store[e.key] = e.lsn
	r.w.lag = append(r.w.lag, q.at-r.w.commitAt[e.lsn-1])
	if len(r.held) > 0 {
		keep := r.held[:0]
		for _, h := range r.held {
			if h.minPos <= r.applied {
				h.timer.Stop()
				r.answer(h.from, h.id, h.key)
			} else {
				keep = append(keep, h)
			}
		}
		r.held = keep
	}
	if len(r.acks) > 0 {
		keep := r.acks[:0]
		for _, a := range r.acks {
			if a.lsn <= r.applied {
				r.w.net.Send(r.id, a.ack.client, a.ack)
			} else {
				keep = append(keep, a)
			}
		}
		r.acks = keep
	}
}

// crashed drops what lives only in memory: held reads and acks, and
// entries received but not applied yet. The applied data is durable.
func (r *replica) crashed() {
	r.advance()
	r.held, r.acks, r.queue = nil, nil, nil
	r.received = r.applied
	r.asked = 0
}

// restarted resumes heartbeats and catches up from the primary.
func (r *replica) restarted() {
	r.applyAt = r.w.s.Now()
	r.beat()
	if !r.primary {
		r.askCatchUp()
	}
}

// askCatchUp asks the primary for the log after what was received, unless
// the same request is already on its way.
func (r *replica) askCatchUp() {
	now := r.w.s.Now()
	if r.asked == r.received+1 && now-r.askedAt < r.w.cfg.Timeout {
		return
	}
	r.asked, r.askedAt = r.received+1, now
	r.w.net.Send(r.id, r.w.replicas[0].id, catchUp{from: r.received + 1})
}

func (r *replica) beat() {
	r.advance()
	now := r.w.s.Now()
	for _, reg := range r.w.cfg.ClientRegions {
		rt := r.w.routers[reg]
		r.w.net.Send(r.id, rt.id, heartbeat{replica: r.idx, applied: r.applied, received: r.received, sent: now})
	}
	r.w.net.Timer(r.id, r.w.cfg.Heartbeat, r.beat)
}

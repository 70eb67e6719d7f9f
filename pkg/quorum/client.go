package quorum

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/sim"
)

// Client is a client in one region, served by the node of that region.
type Client struct {
	c    *Cluster
	id   int
	node *node
}

// Client returns a new client served by the first node in region r.
func (c *Cluster) Client(r sim.Region) (*Client, error) {
	for _, n := range c.nodes {
		if n.region == r {
			cl := &Client{c: c, id: c.clients, node: n}
			c.clients++
			return cl, nil
		}
	}
	return nil, fmt.Errorf("no node in region %q (regions: %v)", r, c.cfg.Regions)
}

// ID returns the client's number (its lane in timelines).
func (cl *Client) ID() int { return cl.id }

// Node returns the name of the node that coordinates the client's
// operations.
func (cl *Client) Node() string { return string(cl.node.id) }

// Put writes value to key at level l and calls done with the outcome (from
// inside the simulation). Values written to one key must be distinct for the
// history's checks to trace reads; Run's workload makes them so. It returns
// the operation's index in the history.
func (cl *Client) Put(key, value string, l Level, tag string, done func(Result)) int {
	return cl.call(true, key, value, l, tag, done)
}

// Get reads key at level l and calls done with the outcome. It returns the
// operation's index in the history.
func (cl *Client) Get(key string, l Level, tag string, done func(Result)) int {
	return cl.call(false, key, "", l, tag, done)
}

func (cl *Client) call(write bool, key, value string, l Level, tag string, done func(Result)) int {
	c := cl.c
	kind := linz.Read
	if write {
		kind = linz.Write
	}
	start := c.sim.Now()
	c.pending++
	id := c.rec.Call(cl.id, kind, key, value, start)
	if tag != "" {
		c.rec.Tag(id, tag)
	}
	answer := func(res Result) {
		c.sim.After(localHop, func() {
			c.pending--
			now := c.sim.Now()
			res.Latency = now - start
			if res.Err != nil {
				_ = c.rec.Fail(id, now)
			} else {
				_ = c.rec.Return(id, res.Value, res.Found, now)
				if write {
					if t := c.copies[res.Version]; t != nil {
						t.acked, t.ackAt = true, now
					}
				}
			}
			if done != nil {
				done(res)
			}
		})
	}
	r, w, err := l.resolve(c.cfg)
	if err != nil {
		answer(Result{Err: err})
		return id
	}
	c.sim.After(localHop, func() {
		if !c.net.Up(cl.node.id) {
			c.sim.After(c.cfg.Timeout, func() {
				answer(Result{Err: fmt.Errorf("%w: coordinator %s is down", ErrUnavailable, cl.node.id)})
			})
			return
		}
		c.coordinate(cl.node, write, key, value, r, w, c.cfg.Sloppy && !l.Strict, answer)
	})
	return id
}

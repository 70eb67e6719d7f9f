package quorum

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/sim"
)

// Walkthrough runs one write of key from a client in region writer, then,
// once it is acknowledged, one read of the same key from a client in region
// reader, and returns the messages as a Mermaid sequence diagram (with
// virtual times). It shows which replicas a quorum waits for and which it
// does not.
func Walkthrough(cfg Config, key string, writer, reader sim.Region) (string, error) {
	c, err := New(cfg)
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", fmt.Errorf("the walkthrough needs a key")
	}
	w, err := c.Client(writer)
	if err != nil {
		return "", err
	}
	r, err := c.Client(reader)
	if err != nil {
		return "", err
	}
	tr := c.net.Record(400)
	var failure error
	c.net.Note(w.node.id, fmt.Sprintf("client writes %s=v1 (W=%d)", key, cfg.W))
	w.Put(key, "v1", Level{}, "", func(res Result) {
		if res.Err != nil {
			failure = res.Err
			return
		}
		c.net.Note(w.node.id, fmt.Sprintf("acknowledged after %.1f ms", ms(res.Latency)))
		c.net.Note(r.node.id, fmt.Sprintf("client reads %s (R=%d)", key, cfg.R))
		r.Get(key, Level{}, "", func(res Result) {
			if res.Err != nil {
				failure = res.Err
				return
			}
			got := "none"
			if res.Found {
				got = res.Value
			}
			c.net.Note(r.node.id, fmt.Sprintf("answers %s after %.1f ms", got, ms(res.Latency)))
		})
	})
	if err := c.sim.RunFor(3 * c.cfg.Timeout); err != nil {
		return "", err
	}
	if failure != nil {
		return "", failure
	}
	ids := make([]sim.NodeID, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.id
	}
	return tr.Mermaid(sim.MermaidOptions{Participants: ids, Times: true}), nil
}

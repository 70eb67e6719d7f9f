package quorum_test

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/linz"
	"github.com/dsgym/dsgym/pkg/quorum"
)

// Quorums that must meet (R + W > N) never serve an overwritten value;
// quorums that need not meet sometimes do, and porcupine says so.
func ExampleRun() {
	for _, q := range [][3]int{{3, 1, 1}, {3, 2, 2}} {
		cfg := quorum.Default().WithQuorums(q[0], q[1], q[2])
		w := quorum.DefaultWorkload()
		w.Keys = 4
		rep, err := quorum.Run(cfg, w)
		if err != nil {
			fmt.Println(err)
			return
		}
		res, _ := linz.Check(rep.History, 10*time.Second)
		fmt.Printf("%s: stale reads: %v; %v\n", cfg.Name(), rep.Staleness.Stale > 0, res.Verdict)
	}
	// Output:
	// N=3 R=1 W=1: stale reads: true; not linearizable
	// N=3 R=2 W=2: stale reads: false; linearizable
}

// A client in Asia reads what a client in the US wrote: the diagram shows the
// read waiting for the two nearest replicas of the key.
func ExampleWalkthrough() {
	src, err := quorum.Walkthrough(quorum.Default(), "x", "us-east", "ap-southeast")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src[:len("sequenceDiagram")])
	// Output: sequenceDiagram
}

package fault_test

import (
	"fmt"
	"time"

	"github.com/dsgym/dsgym/pkg/sim"
	"github.com/dsgym/dsgym/pkg/txn/fault"
)

// A node that sends three messages crashes right after its second send
// and restarts a second later: the third send never happens, and messages
// already in flight still arrive.
func ExampleAfter() {
	s := sim.New(1)
	net := sim.NewNetwork(s, sim.Link{Latency: time.Millisecond})
	in := fault.New(net, []fault.Crash{fault.After("a", 2, time.Second)})
	a := in.Node("a")
	_ = net.AddNode("a", func(sim.NodeID, any) {})
	_ = net.AddNode("b", func(_ sim.NodeID, m any) { fmt.Printf("%v: b got %v\n", s.Now(), m) })
	net.OnRestart("a", func() { fmt.Printf("%v: a restarts\n", s.Now()) })
	for i := 1; i <= 3; i++ {
		in.Send(a, "b", i, "send")
	}
	s.After(2*time.Second, func() { in.Send(a, "b", 4, "send") })
	_ = s.Run()
	fmt.Println(in.Log()[0])
	// Output:
	// 1ms: b got 1
	// 1ms: b got 2
	// 1s: a restarts
	// 2.001s: b got 4
	// a crashed at 0s after 2 effects (the last: send to b), down 1s
}

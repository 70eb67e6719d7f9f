package session_test

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/session"
	sol "github.com/dsgym/dsgym/solutions/session"
)

// A user in eu-west saves their profile and reloads at once. The write goes
// to the primary in us-east; the eu-west replica takes 300 ms to apply it,
// so the reload shows the old profile. With a write token the read waits
// for the replica, then goes to the primary.
func ExampleStory() {
	for _, s := range []session.Strategy{session.None, session.Token} {
		h, _, err := session.Story(session.DefaultStory(s), sol.RouteRead)
		if err != nil {
			panic(err)
		}
		fmt.Println(s)
		for _, op := range h {
			fmt.Println(" ", op)
		}
	}
	// Output:
	// none
	//   s0 write profile v1 via us-east-1 at 76ms
	//   s0 read profile v0 via eu-west-1 at 82ms
	//   s0 read profile v1 via eu-west-1 at 583ms
	// write-token
	//   s0 write profile v1 via us-east-1 at 76ms
	//   s0 read profile v1 via us-east-1 at 308ms
	//   s0 read profile v1 via eu-west-1 at 809ms
}

// Run simulates a configuration, checks its history against the session
// guarantees and summarises it.
func ExampleRun() {
	cfg := session.Default()
	cfg.Ops = 2000
	for _, s := range []session.Strategy{session.None, session.Sticky} {
		cfg.Strategy = s
		o, err := session.Run(cfg, session.Impl{Route: sol.RouteRead, CheckRYW: sol.CheckReadYourWrites})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d ops, read-your-writes broken %d times\n", s, o.Summary.Ops, o.Summary.Violations[session.ReadYourWrites])
	}
	// Output:
	// none: 2000 ops, read-your-writes broken 88 times
	// sticky: 2000 ops, read-your-writes broken 0 times
}

func ExampleCheckMonotonicReads() {
	h := session.History{
		{Session: 1, Kind: session.Read, Key: "likes", Version: 7, Replica: "eu-west-1"},
		{Session: 1, Kind: session.Read, Key: "likes", Version: 4, Replica: "eu-west-2"},
	}
	for _, v := range session.CheckMonotonicReads(h) {
		fmt.Println(v)
	}
	// Output: monotonic reads: session 1, op 1 on likes got version 4, want >= 7 (because of op 0)
}

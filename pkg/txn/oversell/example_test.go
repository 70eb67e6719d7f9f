package oversell_test

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/txn/oversell"
)

// Reading the stock and writing it back minus one loses concurrent
// updates: more orders ship than there are units.
func ExampleRun() {
	oversold := 0
	for seed := uint64(1); seed <= 100; seed++ {
		cfg := oversell.Default()
		cfg.Seed, cfg.Strategy = seed, oversell.ReadThenWrite
		r, err := oversell.Run(cfg)
		if err != nil {
			panic(err)
		}
		oversold += r.Oversold
	}
	fmt.Println("oversold over 100 runs:", oversold)
	// Output: oversold over 100 runs: 160
}

package experiment_test

import (
	"context"
	"fmt"

	"github.com/dsgym/dsgym/pkg/idempotency/experiment"
)

// A retry storm at 30% loss against the real server: the counts depend on
// the seed only, not on timing.
func ExampleStorm() {
	pts, err := experiment.Storm(context.Background(), experiment.SQLite(), experiment.StormConfig{Seed: 1, Events: 50, LossRates: []float64{0.3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pts {
		fmt.Printf("%-24s %d events, %d rows stored, %d duplicates\n", p.Policy, p.Events, p.Effects, p.Duplicates)
	}
	// Output:
	// no key                   50 events, 65 rows stored, 15 duplicates
	// new key on every retry   50 events, 65 rows stored, 15 duplicates
	// same key on every retry  50 events, 50 rows stored, 0 duplicates
}

package outbox_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/dsgym/dsgym/pkg/outbox"
)

// A run of the whole pipeline on the embedded engines (kfake, SQLite, the
// polling relay) with the relay crashing between the broker's
// acknowledgement and its mark: the topic carries one batch twice, and
// the downstream inbox absorbs it.
func ExampleRun() {
	ctx := context.Background()
	k, err := engines.Kafka(ctx, engines.Embedded())
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	sqlite := &engines.DatabaseEngine{Name: "SQLite, in process", Driver: "sqlite"}
	res, err := outbox.Run(ctx, k, sqlite, outbox.Config{
		Orders: 100,
		Crash:  outbox.Crash{At: outbox.RelayBeforeConfirm, After: 2},
		Seed:   1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Report)
	fmt.Println("crashed:", res.Crashed, "- duplicates skipped downstream:", res.DownstreamDuplicates)
	// Output:
	// 100 inputs (0 rejected), 120 published (20 duplicates): exactly-once effects, every commit published in order, no phantom
	// crashed: true - duplicates skipped downstream: 20
}

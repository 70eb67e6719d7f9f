package cdc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dsgym/dsgym/pkg/cdc"
)

// A relay from an outbox table: each committed transaction is published,
// then acknowledged. Killed at any point, it resumes after the last
// acknowledged transaction: what it published but had not acknowledged is
// published again (at-least-once), and nothing is skipped. It needs a
// PostgreSQL with wal_level=logical (make postgres), so it has no output
// to check here; the package's tests run the same calls.
func Example() {
	ctx := context.Background()
	url := "postgres://dsgym@127.0.0.1:15432/postgres?sslmode=disable"
	if err := cdc.Setup(ctx, url, "outbox_pub", "outbox"); err != nil {
		log.Fatal(err)
	}
	s, err := cdc.Open(ctx, url, "outbox_relay", "outbox_pub")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	for {
		txn, err := s.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range txn.Changes {
			fmt.Println(c.Op, c.Table, c.New["aggregate_id"]) // publish it
		}
		// Only once every change is published (the broker acknowledged).
		if err := s.Ack(txn.EndLSN); err != nil {
			log.Fatal(err)
		}
	}
}

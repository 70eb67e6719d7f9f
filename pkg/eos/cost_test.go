package eos

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTransactionsRejectsBadSizes(t *testing.T) {
	k := embedded(t)
	cases := []struct {
		name                        string
		perTxn, records, partitions int
	}{
		{"no records per transaction", 0, 10, 1},
		{"fewer records than one transaction", 10, 5, 1},
		{"more than the cap", 10, MaxCostRecords + 1, 1},
		{"no partitions", 10, 10, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Transactions(context.Background(), k, c.perTxn, c.records, c.partitions)
			require.Error(t, err)
		})
	}
}

func TestTransactionsCountsEveryCommittedRecord(t *testing.T) {
	k := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Transactions(ctx, k, 100, 1000, 3)
	require.NoError(t, err)
	require.Equal(t, 1000, c.Records)
	require.Positive(t, c.RecordsPerSec)
	require.LessOrEqual(t, c.P50, c.P99)
}

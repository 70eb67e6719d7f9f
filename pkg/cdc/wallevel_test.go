package cdc_test

import (
	"context"
	"testing"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines/enginetest"
	"github.com/stretchr/testify/assert"
)

// TestAServerWithoutLogicalWALIsRefusedWithTheFix starts a throwaway
// PostgreSQL with wal_level=replica and opens a stream on it.
func TestAServerWithoutLogicalWALIsRefusedWithTheFix(t *testing.T) {
	url := enginetest.ThrowawayPostgres(t, "DSGYM_PG_WAL_LEVEL=replica")
	_, err := cdc.Open(context.Background(), url, "cdc_replica_slot", "cdc_replica_pub")
	assert.ErrorContains(t, err, "wal_level is replica; logical decoding needs wal_level = logical")
	assert.ErrorContains(t, err, "ALTER SYSTEM SET wal_level = logical")
}

package idempotency_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/idempotency/drill"
	"github.com/dsgym/dsgym/solutions/idempotency"
)

func TestClaim(t *testing.T)       { drill.Claim.Test(t, idempotency.Claim) }
func TestRequestHash(t *testing.T) { drill.RequestHash.Test(t, idempotency.RequestHash) }
func TestSweep(t *testing.T)       { drill.Sweep.Test(t, idempotency.Sweep) }

package txn_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/txn/drill"
	"github.com/dsgym/dsgym/solutions/txn"
)

func TestParticipantRecovery(t *testing.T) {
	drill.ParticipantRecovery.Test(t, txn.ParticipantRecovery)
}

func TestPhase2(t *testing.T) { drill.Phase2.Test(t, txn.Phase2) }

func TestTerminate(t *testing.T) { drill.Terminate.Test(t, txn.Terminate) }

func TestNextCompensation(t *testing.T) { drill.NextCompensation.Test(t, txn.NextCompensation) }

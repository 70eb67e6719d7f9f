package eos_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/eos/drill"
	"github.com/dsgym/dsgym/pkg/eos/step"
	"github.com/dsgym/dsgym/solutions/eos"
)

func TestCheck(t *testing.T) { drill.Check.Test(t, eos.Check) }

func TestTxnBatch(t *testing.T) { drill.TxnBatch.Test(t, eos.TxnBatch) }

func TestSink(t *testing.T) {
	drill.WriteBatch.Test(t, step.Sink{Write: eos.WriteBatch, Resume: eos.ResumeOffsets})
}

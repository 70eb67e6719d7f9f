package quorum_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/quorum/drill"
	"github.com/dsgym/dsgym/solutions/quorum"
)

func TestQuorumRead(t *testing.T) { drill.QuorumRead.Test(t, quorum.QuorumRead) }

func TestClassify(t *testing.T) { drill.Classify.Test(t, quorum.Classify) }

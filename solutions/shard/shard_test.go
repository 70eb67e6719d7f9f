package shard_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/shard/drill"
	"github.com/dsgym/dsgym/solutions/shard"
)

func TestJump(t *testing.T) { drill.Jump.Test(t, shard.Jump) }

func TestPartition(t *testing.T) {
	drill.PartitionOf.Test(t, drill.PartitionFuncs{Of: shard.PartitionOf, Between: shard.PartitionsBetween})
}

func TestReadSalted(t *testing.T) { drill.ReadSalted.Test(t, shard.ReadSalted) }

func TestNewDetector(t *testing.T) { drill.NewDetector.Test(t, shard.NewDetector) }

package ordering_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/ordering/drill"
	"github.com/dsgym/dsgym/pkg/ordering/reseq"
	"github.com/dsgym/dsgym/solutions/ordering"
)

func TestCheck(t *testing.T) { drill.Check.Test(t, ordering.Check) }

func TestResequencer(t *testing.T) {
	drill.Resequencer.Test(t, func(c reseq.Config) (reseq.Resequencer, error) { return ordering.NewResequencer(c) })
}

func TestPartitions(t *testing.T) { drill.Partitions.Test(t, ordering.Partitions) }

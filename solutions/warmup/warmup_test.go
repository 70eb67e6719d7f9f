package warmup_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/warmup/drill"
	"github.com/dsgym/dsgym/solutions/warmup"
)

func TestPercentile(t *testing.T) { drill.Percentile.Test(t, warmup.Percentile) }

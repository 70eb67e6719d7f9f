package shuffle_test

import (
	"testing"

	"github.com/dsgym/dsgym/pkg/shuffle/drill"
	"github.com/dsgym/dsgym/solutions/shuffle"
)

func TestSaltedSum(t *testing.T) { drill.SaltedSum.Test(t, shuffle.SaltedSum) }

func TestSkewSplits(t *testing.T) { drill.SkewSplits.Test(t, shuffle.SkewSplits) }

func TestSpeculatable(t *testing.T) { drill.Speculatable.Test(t, shuffle.Speculatable) }

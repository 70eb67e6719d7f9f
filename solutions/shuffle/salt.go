package shuffle

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/shuffle/step"
)

// SaltedSum sums Value per Key in two stages, the way a salted aggregation
// spreads a hot key. Stage one: row i gets salt i % salts (a random salt
// per row spreads the same way) and goes to partition
// step.Partition(step.SaltedKey(key, salt), partitions), which counts it
// in Load; each salted key gets a partial sum there. Stage two, the merge
// step: strip the salt and add the partial sums of each original key.
// salts and partitions below 1 are errors.
//
//dsgym:exercise shuffle/salt
func SaltedSum(rows []step.Row, salts, partitions int) (step.Salted, error) {
	//dsgym:solution
	if salts < 1 || partitions < 1 {
		return step.Salted{}, fmt.Errorf("salts (%d) and partitions (%d) must be at least 1", salts, partitions)
	}
	out := step.Salted{Load: make([]int, partitions), Sums: map[string]int64{}}
	type salted struct {
		key  string
		salt int
	}
	partial := map[salted]int64{}
	for i, r := range rows {
		s := i % salts
		out.Load[step.Partition(step.SaltedKey(r.Key, s), partitions)]++
		partial[salted{r.Key, s}] += r.Value
	}
	for k, v := range partial {
		out.Sums[k.key] += v
	}
	return out, nil
	//dsgym:stub
	// panic("not implemented yet: SaltedSum: salt row i with i % salts, count each row in Load at the partition of its salted key, sum per salted key, then merge the partial sums per original key")
	//dsgym:end
}

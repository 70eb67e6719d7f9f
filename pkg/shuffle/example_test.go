package shuffle_test

import (
	"fmt"

	"github.com/dsgym/dsgym/pkg/shuffle"
)

// A join whose fact table has a hot key: AQE splits the hot partition and
// Diagnose names the cause of the slow tasks of the run without AQE.
func Example() {
	c := shuffle.Default()
	c.Kind = shuffle.Join
	c.AQE.Enabled = false
	off, err := shuffle.Run(c)
	if err != nil {
		panic(err)
	}
	d, _ := shuffle.Diagnose(off.Successful("sort-merge join"))
	fmt.Printf("without AQE: %d join tasks, the slowest %.0fx the median: %s\n", d.Tasks, float64(d.Max)/float64(d.Median), d.Top().Cause)

	c.AQE.Enabled = true
	on, _ := shuffle.Run(c)
	s := on.Splits[0]
	fmt.Printf("with AQE: partition %d (%d MiB) split in %d\n", s.Partition, s.Size>>20, s.Parts)
	// Output:
	// without AQE: 200 join tasks, the slowest 57x the median: data skew
	// with AQE: partition 135 (262 MiB) split in 5
}

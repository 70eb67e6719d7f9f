// Package catalog links in every topic's exercises, so that tools that need
// the whole course (the dsgym command, dsgym sync) see all of them.
// Add one import here per topic's drill package.
package catalog

import (
	"github.com/dsgym/dsgym/pkg/exercise"

	_ "github.com/dsgym/dsgym/pkg/eos/drill"         // 06-kafka-exactly-once
	_ "github.com/dsgym/dsgym/pkg/idempotency/drill" // 03-idempotency
	_ "github.com/dsgym/dsgym/pkg/ordering/drill"    // 08-kafka-ordering
	_ "github.com/dsgym/dsgym/pkg/outbox/drill"      // 09-end-to-end-exactly-once
	_ "github.com/dsgym/dsgym/pkg/quorum/drill"      // 01-cap-pacelc
	_ "github.com/dsgym/dsgym/pkg/session/drill"     // 02-read-your-writes
	_ "github.com/dsgym/dsgym/pkg/shard/drill"       // 04-sharding
	_ "github.com/dsgym/dsgym/pkg/shuffle/drill"     // 07-spark-shuffle-skew
	_ "github.com/dsgym/dsgym/pkg/txn/drill"         // 05-2pc-vs-sagas
	_ "github.com/dsgym/dsgym/pkg/warmup/drill"      // 00-start-here
)

// Exercises returns every registered exercise, sorted by id.
func Exercises() []exercise.Info { return exercise.All() }

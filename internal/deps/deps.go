//go:build tools

// Package deps pins, in go.mod, the modules of the chapters still to come,
// so that their versions are the ones recorded in notes/engines.md and set-up
// downloads them with the rest (notebooks then build offline): franz-go and
// kfake (Kafka exactly-once, ordering, outbox), hashicorp/raft (the
// every build. Drop a line once real code imports its module.
package deps

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/raft"
)

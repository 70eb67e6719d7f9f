//go:build tools

// Package deps pins, in go.mod, modules that the chapters still to come
// will import, so that set-up downloads them with the rest and notebooks
// build offline: hashicorp/raft v1.7.2 (the approved version; it needs
// hashicorp/go-metrics v0.5.4 for go-metrics/compat, so that is pinned
// too) and go-hclog for chapter 10's consensus groups. The build tag keeps
// it out of every build. Drop a line once real code imports its module.
package deps

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/raft"
)

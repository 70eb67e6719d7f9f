//go:build tools

// Package deps pins modules that chapters use before their code lands, so
// that parallel work does not edit go.mod concurrently. Remove an import here
// once real code imports the module.
package deps

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/buraksezer/consistent"
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/chromedp/chromedp"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/raft"
	_ "github.com/jackc/pglogrepl"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/require"
	_ "github.com/twmb/franz-go/pkg/kadm"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "modernc.org/sqlite"
)

package cdc

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ident is an unquoted PostgreSQL identifier: a lower-case letter or
// underscore, then lower-case letters, digits and underscores, at most
// 63 bytes (NAMEDATALEN-1). Replication slot names are stricter still
// (lower-case letters, digits, underscore), which this also satisfies.
var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// checkIdent returns an error naming what (a "slot", a "publication") when
// name is not an identifier this package accepts.
func checkIdent(what, name string) error {
	if !ident.MatchString(name) {
		return fmt.Errorf("cdc: %s name %q is not a lower-case identifier (letters a-z, digits, _; starting with a letter or _; at most 63 bytes)", what, name)
	}
	return nil
}

// tableIdent parses "table" or "schema.table" and returns it quoted for
// SQL, with its schema ("public" when absent) and name.
func tableIdent(table string) (quoted, schema, name string, err error) {
	schema, name, ok := strings.Cut(table, ".")
	if !ok {
		schema, name = "public", table
	}
	if err := checkIdent("table", name); err != nil {
		return "", "", "", err
	}
	if err := checkIdent("schema", schema); err != nil {
		return "", "", "", err
	}
	return pgx.Identifier{schema, name}.Sanitize(), schema, name, nil
}

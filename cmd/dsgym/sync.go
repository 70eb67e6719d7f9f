package main

import (
	"fmt"
	"os"

	"github.com/dsgym/dsgym/internal/gen"
)

func init() {
	register("sync", "regenerate exercises/, notebook exercise cells and exercises/catalog.json", cmdSync)
}

func cmdSync(args []string) int {
	fs := newFlags("sync", "sync [--check] [--force] [--topic T]",
		"Regenerates what solutions/ and the registered exercises determine: the stub\n"+
			"files in exercises/, the exercise cells of the notebooks, exercises/catalog.json.\n"+
			"It also strips notebook outputs and enforces the bootstrap cell. Files holding\n"+
			"your local edits (uncommitted changes) are left alone unless --force.")
	check := fs.Bool("check", false, "change nothing; exit 1 naming every file or cell that is out of date")
	force := fs.Bool("force", false, "overwrite generated files even when they hold local edits")
	topic := fs.String("topic", "", "only this topic's exercises/ files and notebooks (the catalogue is left alone)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	r, err := root()
	if err != nil {
		return fail("%v", err)
	}
	findings, err := gen.Sync(gen.Options{Root: r, Check: *check, Force: *force, Exercises: exerciseInfos(), Topic: *topic})
	if err != nil {
		return fail("%v", err)
	}
	if len(findings) == 0 {
		fmt.Fprintln(os.Stderr, "dsgym sync: everything generated is up to date")
		return 0
	}
	bad := 0
	for _, f := range findings {
		switch {
		case *check:
			fmt.Fprintln(os.Stderr, "out of date: "+f.String())
			bad++
		case f.Skipped || f.Unfixable:
			fmt.Fprintln(os.Stderr, "not updated: "+f.String())
			bad++
		default:
			fmt.Fprintln(os.Stderr, "updated: "+f.String())
		}
	}
	if bad > 0 {
		if *check {
			fmt.Fprintln(os.Stderr, "run: go run ./cmd/dsgym sync")
		}
		return 1
	}
	return 0
}

package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/dsgym/dsgym/internal/gen"
	"github.com/dsgym/dsgym/pkg/catalog"
	"github.com/dsgym/dsgym/pkg/exercise"
	"github.com/dsgym/dsgym/pkg/nb"
)

// newFlags makes a FlagSet whose --help prints usage and the flags.
func newFlags(name, usageLine, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: dsgym %s\n\n%s\n", usageLine, about)
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(os.Stderr, "\noptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args, flags before, between or after the positional
// arguments ("check shuffle --no-color" as well as "check --no-color
// shuffle"); everything after "--" is positional. It returns (exit code,
// false) when the command must stop. fs.Args() holds the positionals.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0, false
			}
			return 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return 2, false
	}
	return 0, true
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "dsgym: "+format+"\n", args...)
	return 1
}

func root() (string, error) { return nb.Root() }

// exerciseInfos returns the catalogue in the form sync uses.
func exerciseInfos() []gen.ExerciseInfo {
	var out []gen.ExerciseInfo
	for _, e := range catalog.Exercises() {
		out = append(out, gen.ExerciseInfo{ID: e.ID, Topic: e.Topic, Title: e.Title, Task: e.Task, Func: e.Func, Notebook: e.Notebook, Checks: e.Checks, Hints: len(e.Hints)})
	}
	return out
}

func byID() map[string]gen.ExerciseInfo {
	m := map[string]gen.ExerciseInfo{}
	for _, e := range exerciseInfos() {
		m[e.ID] = e
	}
	return m
}

// resolve turns a user's argument into exercise ids: an exact id, a topic,
// or a unique exercise name; unknown names get a suggestion.
func resolve(arg string) ([]exercise.Info, error) {
	all := catalog.Exercises()
	if arg == "" || arg == "all" {
		return all, nil
	}
	var out []exercise.Info
	var candidates []string
	topics := map[string]bool{}
	for _, e := range all {
		name := strings.TrimPrefix(e.ID, e.Topic+"/")
		if e.ID == arg || e.Topic == arg || name == arg {
			out = append(out, e)
		}
		candidates = append(candidates, e.ID, name)
		topics[e.Topic] = true
	}
	for t := range topics {
		candidates = append(candidates, t)
	}
	sort.Strings(candidates)
	if len(out) == 0 {
		return nil, fmt.Errorf("no topic or exercise called %q%s (dsgym list shows them all)", arg, didYouMean(arg, candidates))
	}
	return out, nil
}

func resolveOne(arg string) (exercise.Info, error) {
	ex, err := resolve(arg)
	if err != nil {
		return exercise.Info{}, err
	}
	if len(ex) != 1 {
		var ids []string
		for _, e := range ex {
			ids = append(ids, e.ID)
		}
		return exercise.Info{}, fmt.Errorf("%q names %d exercises (%s): give one", arg, len(ex), strings.Join(ids, ", "))
	}
	return ex[0], nil
}

func isTTY(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}

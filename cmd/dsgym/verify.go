package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsgym/dsgym/internal/gen"
)

func init() {
	register("verify", "prove every exercise: the solution passes, the stub fails with its message", cmdVerify)
}

func cmdVerify(args []string) int {
	fs := newFlags("verify", "verify",
		"The proofs CI runs for every exercise (the course's own test, not yours):\n"+
			"  1. the reference solution in solutions/ passes every check;\n"+
			"  2. the generated stub fails every check with \"not implemented yet: <func>: <task>\".\n"+
			"The stubs are generated afresh into a build overlay, so your edits in\n"+
			"exercises/ neither help nor hurt.")
	topic := fs.String("topic", "", "only this topic's exercises")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	r, err := root()
	if err != nil {
		return fail("%v", err)
	}
	all, err := resolve(*topic)
	if err != nil {
		return fail("%v", err)
	}
	topics := topicsOf(all)

	sol, buildErr, err := runChecks(r, "solutions", topics, "", false, "")
	if err != nil {
		return fail("%v", err)
	}
	if buildErr != "" {
		return fail("solutions/ does not build:\n%s", indent(trimGoTestNoise(buildErr)))
	}

	overlay, cleanup, err := stubOverlay(r, topics)
	if err != nil {
		return fail("%v", err)
	}
	defer cleanup()
	stub, buildErr, err := runChecks(r, "exercises", topics, "", false, overlay)
	if err != nil {
		return fail("%v", err)
	}
	if buildErr != "" {
		return fail("the generated stubs do not build:\n%s", indent(trimGoTestNoise(buildErr)))
	}

	bad := 0
	fmt.Printf("%-34s %-22s %s\n", "exercise", "reference solution", "generated stub")
	for _, e := range all {
		solMsg, stubMsg := "passes all checks", "fails as intended"
		if rep, ok := sol[e.ID]; !ok {
			solMsg = "CHECKS DID NOT RUN"
			bad++
		} else if !rep.OK() {
			solMsg = fmt.Sprintf("FAILS %d of %d", len(rep.Results)-rep.Passed(), len(rep.Results))
			bad++
			for _, x := range rep.Results {
				if x.Outcome != "passed" {
					fmt.Fprintf(os.Stderr, "  %s: reference fails %q: %s\n", e.ID, x.Check, x.Message)
				}
			}
		}
		want := "not implemented yet: " + e.Func + ": "
		if rep, ok := stub[e.ID]; !ok {
			stubMsg = "CHECKS DID NOT RUN"
			bad++
		} else if msg := rep.NotImplemented(); !namesAStub(msg, e.Func) {
			stubMsg = "WRONG FAILURE"
			bad++
			fmt.Fprintf(os.Stderr, "  %s: the stub should fail every check with %q..., got: %s\n", e.ID, want, rep.Summary())
		}
		fmt.Printf("%-34s %-22s %s\n", e.ID, solMsg, stubMsg)
	}
	if bad > 0 {
		fmt.Printf("%d problem(s) in %d exercises\n", bad, len(all))
		return 1
	}
	fmt.Printf("all %d exercises proven: solutions pass, stubs fail with their message\n", len(all))
	return 0
}

// namesAStub reports whether msg is the "not implemented yet" message of
// one of the exercise's functions (an exercise with several functions may
// reach any of them first, e.g. a resume read before the first write).
func namesAStub(msg, funcs string) bool {
	for _, f := range strings.Split(funcs, ",") {
		if strings.HasPrefix(msg, "not implemented yet: "+strings.TrimSpace(f)+": ") {
			return true
		}
	}
	return false
}

// stubOverlay writes freshly generated exercise files to a temporary
// directory and returns a go build overlay mapping exercises/ onto them.
func stubOverlay(root string, topics []string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "dsgym-overlay-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	replace := map[string]string{}
	for _, t := range topics {
		files, err := gen.LoadTopic(root, t)
		if err != nil {
			cleanup()
			return "", nil, err
		}
		for _, f := range files {
			data, err := f.ExerciseFile()
			if err != nil {
				cleanup()
				return "", nil, err
			}
			tmp := filepath.Join(dir, t+"__"+filepath.Base(f.Path))
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				cleanup()
				return "", nil, err
			}
			replace[filepath.Join(root, "exercises", t, filepath.Base(f.Path))] = tmp
		}
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		cleanup()
		return "", nil, err
	}
	path := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return path, cleanup, nil
}

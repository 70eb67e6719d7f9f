package main

import (
	"fmt"
	"os"

	"github.com/dsgym/dsgym/internal/gen"
	"github.com/dsgym/dsgym/internal/notebook"
)

func init() {
	register("nb", "notebook tools for course authors: build, text, fill, strip", cmdNB)
}

const nbUsage = `usage: dsgym nb <build|text|fill|strip> ...

  dsgym nb text NOTEBOOK.ipynb            print the notebook in its text form
  dsgym nb build TEXT -o NOTEBOOK.ipynb   make a normalised notebook from text
  dsgym nb fill --solutions|--stubs IN OUT
                                          copy IN with every exercise cell
                                          holding the reference or the stub
  dsgym nb strip NOTEBOOK.ipynb...        drop outputs, normalise in place

The text form: each cell starts with a line "##cell markdown" or
"##cell code {json metadata}"; the lines after it are the cell's source.
Edit a notebook as text with: dsgym nb text x.ipynb > x.txt; (edit);
dsgym nb build x.txt -o x.ipynb; dsgym sync.`

func cmdNB(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, nbUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "text":
		if len(args) != 2 {
			fmt.Fprintln(os.Stderr, nbUsage)
			return 2
		}
		nb, err := notebook.Read(args[1])
		if err != nil {
			return fail("%v", err)
		}
		fmt.Print(nb.Text())
		return 0
	case "build":
		if len(args) != 4 || args[2] != "-o" {
			fmt.Fprintln(os.Stderr, nbUsage)
			return 2
		}
		data, err := os.ReadFile(args[1])
		if err != nil {
			return fail("%v", err)
		}
		nb, err := notebook.ParseText(string(data))
		if err != nil {
			return fail("%s: %v", args[1], err)
		}
		if err := nb.Write(args[3]); err != nil {
			return fail("%v", err)
		}
		return 0
	case "fill":
		if len(args) != 4 || (args[1] != "--solutions" && args[1] != "--stubs") {
			fmt.Fprintln(os.Stderr, nbUsage)
			return 2
		}
		r, err := root()
		if err != nil {
			return fail("%v", err)
		}
		form := gen.Stub
		if args[1] == "--solutions" {
			form = gen.Solution
		}
		nb, err := gen.Fill(r, args[2], form, byID())
		if err != nil {
			return fail("%v", err)
		}
		nb.Normalize()
		if err := nb.Write(args[3]); err != nil {
			return fail("%v", err)
		}
		return 0
	case "strip":
		if len(args) < 2 {
			fmt.Fprintln(os.Stderr, nbUsage)
			return 2
		}
		for _, p := range args[1:] {
			nb, err := notebook.Read(p)
			if err != nil {
				return fail("%v", err)
			}
			nb.Normalize()
			if err := nb.Write(p); err != nil {
				return fail("%v", err)
			}
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "dsgym nb: unknown subcommand %q%s\n", args[0], didYouMean(args[0], []string{"build", "text", "fill", "strip"}))
	return 2
}

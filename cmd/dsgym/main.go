// Command dsgym is the course's command line: it checks your exercises,
// gives hints, shows progress, and keeps generated files in sync.
//
//	dsgym list                      topics and exercises, with your status
//	dsgym check [topic|exercise]    run the checks on your code in exercises/
//	dsgym hint <exercise> [level]   a hint: 1 nudge, 2 concept, 3 near-solution
//	dsgym solution <exercise>       the reference, once your check passed
//	dsgym progress                  what you have solved, per topic
//	dsgym sync [--check]            regenerate exercises/ and notebook cells
//	dsgym nb ...                    notebook tools (for course authors)
//
// Run "dsgym <command> --help" for a command's options.
package main

import (
	"fmt"
	"os"
)

type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands []command

func register(name, summary string, run func(args []string) int) {
	commands = append(commands, command{name, summary, run})
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: dsgym <command> [arguments]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun \"dsgym <command> --help\" for a command's options.")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:])
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	fmt.Fprintf(os.Stderr, "dsgym: unknown command %q%s\n", args[0], didYouMean(args[0], names))
	usage()
	return 2
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/dsgym/dsgym/pkg/engines/local"
)

func init() {
	register("engines", "start, stop, inspect or wipe the real engines (Kafka, Spark, PostgreSQL)", cmdEngines)
}

const enginesUsage = `usage: dsgym engines start|stop|status|clean [kafka|kafka-cluster|spark|postgres ...]

  start NAME...   start the engines (data kept across restarts) and print, on
                  stdout, the export lines that point notebooks at them:
                  eval "$(dsgym engines start kafka)"
  stop [NAME...]  stop them (all when none is named)
  status          what runs, where, its memory beside the 4 GiB budget
  clean [NAME...] stop them and delete their data (all when none is named)

Ports and directories: DSGYM_KAFKA_PORT (9092; controllers at +100),
DSGYM_SPARK_PORT (15002), DSGYM_SPARK_UI_PORT (4040), DSGYM_POSTGRES_PORT
(15432), DSGYM_RUN_DIR (.dsgym/run).`

func cmdEngines(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, enginesUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cfg, err := local.FromEnv()
	if err != nil {
		return fail("%v", err)
	}
	verb, names := args[0], args[1:]
	var picked []local.Engine
	if len(names) == 0 && verb != "start" {
		picked = local.Engines(cfg)
	}
	for _, n := range names {
		e, err := local.Lookup(cfg, n)
		if err != nil {
			return fail("%v", err)
		}
		picked = append(picked, e)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch verb {
	case "start":
		if len(picked) == 0 {
			return fail("name the engines to start: kafka, kafka-cluster, spark or postgres")
		}
		return enginesStart(ctx, picked)
	case "stop":
		for _, e := range picked {
			if len(e.PIDs()) == 0 {
				continue
			}
			if err := e.Stop(); err != nil {
				return fail("stopping %s: %v", e.Name(), err)
			}
			fmt.Fprintf(os.Stderr, "stopped %s\n", e.Name())
		}
		return 0
	case "status":
		return enginesStatus(picked)
	case "clean":
		for _, e := range picked {
			if err := local.Clean(e); err != nil {
				return fail("cleaning %s: %v", e.Name(), err)
			}
			fmt.Fprintf(os.Stderr, "%s stopped, its data deleted (%s)\n", e.Name(), e.Dir())
		}
		return 0
	}
	return fail("unknown engines command %q\n%s", verb, enginesUsage)
}

func enginesStart(ctx context.Context, picked []local.Engine) int {
	for _, e := range picked {
		fmt.Fprintf(os.Stderr, "starting %s ...\n", e.Name())
		took, err := e.Start(ctx)
		if err != nil {
			return fail("%v", err)
		}
		rss := float64(local.RSS(e)) / (1 << 20)
		if took == 0 {
			fmt.Fprintf(os.Stderr, "%s was already running at %s (%.0f MiB resident)\n", e.Name(), local.Address(e), rss)
		} else {
			budget := local.ReadyBudget(e.Name())
			verdict := "within"
			if took > budget {
				verdict = "OVER"
			}
			fmt.Fprintf(os.Stderr, "%s ready at %s in %.1f s (budget %.0f s: %s); %.0f MiB resident\n",
				e.Name(), local.Address(e), took.Seconds(), budget.Seconds(), verdict, rss)
		}
		for _, x := range local.Exports(e) {
			fmt.Println(x)
		}
	}
	fmt.Fprintln(os.Stderr, "paste the export lines into your shell before make lab (or eval them); stop with make engines-stop")
	return 0
}

func enginesStatus(picked []local.Engine) int {
	var total int64
	for _, e := range picked {
		pids := e.PIDs()
		if len(pids) == 0 {
			fmt.Printf("%-14s stopped\n", e.Name())
			continue
		}
		rss := local.RSS(e)
		total += rss
		var ps []string
		for _, p := range pids {
			ps = append(ps, fmt.Sprint(p))
		}
		fmt.Printf("%-14s running  %-48s pid %-18s %6.0f MiB\n", e.Name(), local.Address(e), strings.Join(ps, ","), float64(rss)/(1<<20))
		for _, x := range local.Exports(e) {
			fmt.Printf("%-14s %s\n", "", x)
		}
	}
	fmt.Printf("all engines: %.0f MiB resident (budget %.0f MiB)\n", float64(total)/(1<<20), float64(local.MemoryBudget)/(1<<20))
	return 0
}

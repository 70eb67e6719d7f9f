package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dsgym/dsgym/pkg/cdc"
	"github.com/dsgym/dsgym/pkg/engines"
	"github.com/jackc/pgx/v5"
)

// Debezium is where Debezium embedded is installed: make debezium puts
// its jars in .dsgym/debezium/libs and DsgymDebezium.java beside them.
type Debezium struct {
	Java string // the java binary (17 or later)
	Libs string // the directory of jars
	Main string // DsgymDebezium.java
}

// FindDebezium looks for make debezium's install under root (the
// repository) and for java on PATH (or JAVA in .dsgym/engines.env).
func FindDebezium(root string) (Debezium, error) {
	d := Debezium{Libs: filepath.Join(root, ".dsgym", "debezium", "libs"), Main: filepath.Join(root, ".dsgym", "debezium", "DsgymDebezium.java")}
	jars, _ := filepath.Glob(filepath.Join(d.Libs, "*.jar"))
	if _, err := os.Stat(d.Main); err != nil || len(jars) == 0 {
		return d, errors.New("outbox: Debezium is not installed: run make debezium (it is opt-in)")
	}
	if b, err := os.ReadFile(filepath.Join(root, ".dsgym", "engines.env")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "JAVA="); ok {
				d.Java = strings.TrimSpace(v)
			}
		}
	}
	if d.Java == "" {
		j, err := exec.LookPath("java")
		if err != nil {
			return d, errors.New("outbox: Debezium needs Java 17 or later: run make debezium, which installs it")
		}
		d.Java = j
	}
	return d, nil
}

// DebeziumConfig shapes one Debezium run.
type DebeziumConfig struct {
	// Events are inserted into the outbox, one transaction each.
	Events int
	// FlushInterval is offset.flush.interval.ms: how often the engine
	// records its position (Kafka Connect's default is 60 s; Debezium's
	// embedded engine's 60 s too).
	FlushInterval time.Duration
	// KillAfter, when positive, kills the engine with SIGKILL once that
	// many events have come out, and starts it again on the same offsets.
	KillAfter int
	// Pace is the pause between two inserts (0: none), so that events
	// arrive over time as they would from an application.
	Pace time.Duration
}

// DebeziumResult is what one run counted.
type DebeziumResult struct {
	Events int
	// Delivered counts every event line the engine printed, Distinct the
	// outbox ids among them; Duplicates = Delivered - Distinct; Lost the
	// inserted events never delivered.
	Delivered, Distinct, Duplicates, Lost int
	// Topic is where the outbox event router routed the events.
	Topic string
	Took  time.Duration
}

// RunDebezium runs Debezium embedded with the outbox event router as the
// relay of a fresh outbox on PostgreSQL: it starts the engine
// (DsgymDebezium.java, one JSON line per event on stdout), inserts
// cfg.Events outbox rows, optionally kills the engine with SIGKILL after
// cfg.KillAfter events and restarts it on the same offsets file, and
// counts what came out. Debezium is at-least-once ("Debezium provides
// at-least-once delivery guarantees"): after a kill, the events since the
// last offset flush come again.
func RunDebezium(ctx context.Context, dbe *engines.DatabaseEngine, dz Debezium, cfg DebeziumConfig) (DebeziumResult, error) {
	res := DebeziumResult{Events: cfg.Events}
	switch {
	case !dbe.Real:
		return res, errors.New("outbox: Debezium reads PostgreSQL's WAL: run make postgres and set DSGYM_POSTGRES_URL")
	case cfg.Events < 1 || cfg.Events > 100_000:
		return res, fmt.Errorf("outbox: between 1 and 100000 events, not %d", cfg.Events)
	case cfg.Pace < 0 || cfg.Pace > time.Second:
		return res, fmt.Errorf("outbox: a pace of %v between inserts is outside [0, 1s]", cfg.Pace)
	case cfg.FlushInterval < 10*time.Millisecond:
		return res, fmt.Errorf("outbox: an offset flush interval of %v is too short (at least 10ms)", cfg.FlushInterval)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRun)
	defer cancel()
	began := time.Now()
	d, err := NewDatabase(ctx, dbe, 1)
	if err != nil {
		return res, err
	}
	defer d.Close()
	pc, err := pgx.ParseConfig(dbe.URL)
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "dsgym-debezium-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	slot := "dsgym_dbz_" + randomHex(4)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cdc.DropSlot(ctx, dbe.URL, slot)
		if db, err := d.Open(); err == nil {
			_, _ = db.ExecContext(ctx, "DROP PUBLICATION IF EXISTS "+slot)
			db.Close()
		}
	}()
	res.Topic = "dsgym.outbox.order"
	props := strings.Join([]string{
		"database.hostname=" + pc.Host,
		fmt.Sprintf("database.port=%d", pc.Port),
		"database.user=" + pc.User,
		"database.password=" + pc.Password,
		"database.dbname=" + pc.Database,
		"topic.prefix=dsgym",
		"plugin.name=pgoutput",
		"slot.name=" + slot,
		"publication.name=" + slot,
		"publication.autocreate.mode=filtered",
		"table.include.list=" + d.Schema + ".outbox",
		"snapshot.mode=no_data",
		"offset.storage.file.filename=" + filepath.Join(dir, "offsets.dat"),
		fmt.Sprintf("offset.flush.interval.ms=%d", cfg.FlushInterval.Milliseconds()),
		"transforms=outbox",
		"transforms.outbox.type=io.debezium.transforms.outbox.EventRouter",
		"transforms.outbox.route.topic.replacement=" + res.Topic,
		"",
	}, "\n")
	propsFile := filepath.Join(dir, "connector.properties")
	if err := os.WriteFile(propsFile, []byte(props), 0o600); err != nil {
		return res, err
	}

	var mu sync.Mutex
	seen := map[string]int{}
	start := func() (*exec.Cmd, chan error, error) {
		cmd := exec.CommandContext(ctx, dz.Java, "-cp", filepath.Join(dz.Libs, "*"), dz.Main, propsFile)
		cmd.Stderr = nil
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("outbox: starting Debezium: %w", err)
		}
		done := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var ev struct {
					Headers map[string]json.RawMessage `json:"headers"`
				}
				if json.Unmarshal(sc.Bytes(), &ev) != nil {
					continue
				}
				var id string
				if json.Unmarshal(ev.Headers["id"], &id) != nil || id == "" {
					continue
				}
				mu.Lock()
				seen[id]++
				res.Delivered++
				mu.Unlock()
			}
			done <- cmd.Wait()
		}()
		return cmd, done, nil
	}
	waitSlot := func() error {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if st, err := cdc.SlotStatus(ctx, dbe.URL, slot); err == nil && st.Active {
				return nil
			}
		}
		return fmt.Errorf("outbox: Debezium did not open slot %s within 60s", slot)
	}
	delivered := func() int { mu.Lock(); defer mu.Unlock(); return res.Delivered }
	distinct := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }

	cmd, done, err := start()
	if err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Kill() }()
	if err := waitSlot(); err != nil {
		return res, err
	}
	db, err := d.Open()
	if err != nil {
		return res, err
	}
	defer db.Close()
	insErr := make(chan error, 1)
	go func() {
		for i := 1; i <= cfg.Events; i++ {
			_, err := db.ExecContext(ctx, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, trace_id)
				VALUES ($1, 'order', $2, 'OrderPlaced', $3, $4)`,
				fmt.Sprintf("dbz-%d", i), fmt.Sprintf("c%d", i%7), fmt.Sprintf(`{"n":%d}`, i), fmt.Sprintf("t%d", i))
			if err != nil {
				insErr <- err
				return
			}
			if cfg.Pace > 0 {
				time.Sleep(cfg.Pace)
			}
		}
		insErr <- nil
	}()
	killed := cfg.KillAfter <= 0
	for distinct() < cfg.Events {
		if ctx.Err() != nil {
			break
		}
		if !killed && delivered() >= cfg.KillAfter {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed = true
			if cmd, done, err = start(); err != nil {
				return res, err
			}
			if err := waitSlot(); err != nil {
				return res, err
			}
		}
		select {
		case err := <-insErr:
			if err != nil {
				return res, fmt.Errorf("outbox: inserting outbox rows: %w", err)
			}
		case err := <-done:
			return res, fmt.Errorf("outbox: Debezium stopped early (%v); run it by hand to read its log: %s -cp '%s/*' %s %s", err, dz.Java, dz.Libs, dz.Main, propsFile)
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
	}
	mu.Lock()
	res.Distinct = len(seen)
	res.Duplicates = res.Delivered - res.Distinct
	res.Lost = cfg.Events - res.Distinct
	mu.Unlock()
	res.Took = time.Since(began)
	if ctx.Err() != nil {
		return res, fmt.Errorf("outbox: the Debezium run did not finish within %v: %d of %d events came out", MaxRun, res.Distinct, cfg.Events)
	}
	return res, nil
}

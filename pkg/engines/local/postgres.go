package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsgym/dsgym/pkg/engines/proc"
)

// Postgres is the learner's own PostgreSQL server, configured for logical
// replication (wal_level=logical, replication slots and WAL senders), with
// its data under the run directory. It is Debian's PostgreSQL binaries run
// on a private data directory: the system server, if any, is not touched.
type Postgres struct{ cfg Config }

// NewPostgres returns the PostgreSQL engine.
func NewPostgres(cfg Config) *Postgres { return &Postgres{cfg: cfg} }

// Name is the engine's name in make targets and messages.
func (p *Postgres) Name() string { return "postgres" }

// Dir is the engine's run directory.
func (p *Postgres) Dir() string { return filepath.Join(p.cfg.RunDir, "postgres") }

// URL is the connection URL for DSGYM_POSTGRES_URL.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://dsgym@127.0.0.1:%d/postgres?sslmode=disable", p.cfg.PostgresPort)
}

// pgBin finds the directory of initdb and postgres.
func pgBin() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's server programs (initdb, postgres) are not installed: apt-get install postgresql (make test installs it)")
}

// credential runs the server as the postgres user when we are root:
// PostgreSQL refuses to run as root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, and there is no postgres user to run PostgreSQL as (apt-get install postgresql creates it)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// initdb creates the data directory once.
func (p *Postgres) initdb(bin string, cred *syscall.Credential) error {
	data := filepath.Join(p.Dir(), "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.MkdirAll(p.Dir(), 0o755); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "dsgym", "-E", "UTF8")
	if cred != nil {
		if err := os.Chown(p.Dir(), int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	cmd.Dir = p.Dir()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb failed: %v\n%s", err, out)
	}
	conf := fmt.Sprintf(`
# dsgym: loopback only, logical replication for chapter 09's CDC, prepared
# transactions for its design C
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_prepared_transactions = 20
max_connections = 100
shared_buffers = 128MB
`)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return err
	}
	return appendFile(filepath.Join(data, "pg_hba.conf"), "host replication all 127.0.0.1/32 trust\n")
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Start creates the database on first use and starts the server unless it
// runs. The port is given on the command line, so DSGYM_POSTGRES_PORT can
// move an existing server.
func (p *Postgres) Start(ctx context.Context) (time.Duration, error) {
	bin, err := pgBin()
	if err != nil {
		return 0, err
	}
	cred, err := credential()
	if err != nil {
		return 0, err
	}
	if err := p.initdb(bin, cred); err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", p.cfg.PostgresPort)
	st, err := proc.Start(ctx, proc.Spec{
		Name:       "PostgreSQL (" + addr + ")",
		Dir:        p.Dir(),
		Argv:       []string{filepath.Join(bin, "postgres"), "-p", strconv.Itoa(p.cfg.PostgresPort), "-D", filepath.Join(p.Dir(), "data")},
		Ports:      []proc.Port{{Addr: addr, Var: PostgresPortEnv}},
		Credential: cred,
		Ready: func(ctx context.Context) error {
			c, err := pgx.Connect(ctx, p.URL())
			if err != nil {
				return err
			}
			return c.Close(ctx)
		},
		ReadyTimeout: 60 * time.Second,
	})
	return st.Elapsed, err
}

// Stop stops the server with a fast shutdown (SIGINT).
func (p *Postgres) Stop() error { return proc.StopSignal(p.Dir(), syscall.SIGINT, 20*time.Second) }

// PIDs returns the postmaster's process id when it runs.
func (p *Postgres) PIDs() []int {
	if pid, ok := proc.Running(p.Dir()); ok {
		return []int{pid}
	}
	return nil
}

package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// pgCluster is a private PostgreSQL server (initdb in a temporary
// directory, on a free port of 127.0.0.1) that a test may stop and start
// without disturbing anything else using the machine's cluster.
type pgCluster struct {
	t      *testing.T
	bin    string // directory of initdb, pg_ctl
	dir    string
	port   int
	asUser []string // command prefix that runs a program as the cluster's owner
}

// newPGCluster initializes and starts a private cluster, stopped and
// removed when t ends. It is skipped like every PostgreSQL test when
// SUNDIAL_TEST_POSTGRES is unset, and needs the server binaries.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	_ = sqltest.Postgres.Admin(t) // skips without PostgreSQL
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install postgresql)")
	}
	sort.Strings(bins)
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1]), port: freePort(t)}
	dir, err := os.MkdirTemp("", "sundial-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	t.Cleanup(func() { _ = c.runErr("pg_ctl", "-D", c.data(), "-w", "stop", "-m", "immediate") })
	c.start()
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// addr is the cluster's host:port.
func (c *pgCluster) addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

func (c *pgCluster) run(prog string, args ...string) {
	c.t.Helper()
	if err := c.runErr(prog, args...); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pgCluster) runErr(prog string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append(append(append([]string{}, c.asUser...), filepath.Join(c.bin, prog)), args...)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v\n%s", prog, args, err, out)
	}
	return nil
}

func (c *pgCluster) pgctl(args ...string) {
	c.t.Helper()
	c.run("pg_ctl", append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)...)
}

// start starts (or restarts) the server and waits until it accepts
// connections.
func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, c.dir)
	c.pgctl("start", "-l", filepath.Join(c.dir, "log"), "-o", opts)
}

// stop stops the server at once, as a crash would.
func (c *pgCluster) stop() {
	c.t.Helper()
	c.pgctl("stop", "-m", "immediate")
}

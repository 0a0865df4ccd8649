package tests

import (
	"context"
	"fmt"
	"net"
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
	listen string   // the address it listens on
	asUser []string // command prefix that runs a program as the cluster's owner (in its namespace)
}

// newPGCluster initializes and starts a private cluster, stopped and
// removed when t ends. It is skipped like every PostgreSQL test when
// SUNDIAL_TEST_POSTGRES is unset, and needs the server binaries.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	return newPGClusterIn(t, nil, "127.0.0.1", freePort(t))
}

// newPGClusterIn is newPGCluster listening on listen:port, its programs
// run behind prefix (e.g. inside a network namespace).
func newPGClusterIn(t *testing.T, prefix []string, listen string, port int) *pgCluster {
	t.Helper()
	_ = sqltest.Postgres.Admin(t) // skips without PostgreSQL
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install postgresql)")
	}
	sort.Strings(bins)
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1]), port: port, listen: listen, asUser: append([]string(nil), prefix...)}
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
		c.asUser = append(c.asUser, "runuser", "-u", "postgres", "--")
	}
	c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	if listen != "127.0.0.1" {
		// Hosts on the listen address's own subnet (a test's private
		// network) connect as on loopback.
		hba, err := os.OpenFile(filepath.Join(c.data(), "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = hba.WriteString("host all all samenet trust\n")
		if cerr := hba.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = c.runErr("pg_ctl", "-D", c.data(), "-w", "stop", "-m", "immediate") })
	c.start()
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// addr is the cluster's host:port.
func (c *pgCluster) addr() string { return net.JoinHostPort(c.listen, strconv.Itoa(c.port)) }

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
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=%s -c fsync=off -c max_connections=200 -c log_line_prefix='%%m [%%a] '", c.port, c.dir, c.listen)
	c.pgctl("start", "-l", filepath.Join(c.dir, "log"), "-o", opts)
}

// stop stops the server at once, as a crash would.
func (c *pgCluster) stop() {
	c.t.Helper()
	c.pgctl("stop", "-m", "immediate")
}

package tests

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// twoProcessConfig is a `sundial server` config in Temporal's shape; the
// ${VAR} references are filled from each process's environment.
const twoProcessConfig = `
log:
  level: warn
persistence:
  numHistoryShards: 4
  defaultStore: default
  visibilityStore: default
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: ${SUNDIAL_DB}
        connectAddr: ${SUNDIAL_DB_ADDR}
        connectProtocol: tcp
        user: ${SUNDIAL_DB_USER:postgres}
        password: ${SUNDIAL_DB_PASSWORD}
        maxConns: 10
        connectAttributes:
          application_name: ${SUNDIAL_APP}
services:
  frontend:
    rpc:
      grpcPort: ${SUNDIAL_PORT}
      bindOnIP: 127.0.0.1
`

// auditSQL records every row a server process changes, tagged with the
// process's application_name, so the test can tell who wrote what.
var auditSQL = []string{
	`CREATE TABLE write_audit (app TEXT, tbl TEXT, op TEXT, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
	`CREATE FUNCTION audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO write_audit (app, tbl, op) VALUES (current_setting('application_name'), TG_TABLE_NAME, TG_OP);
		RETURN NULL;
	END $$`,
}

var auditedTables = []string{"shards", "executions", "current_executions", "history_events",
	"transfer_tasks", "timer_tasks", "task_queues", "tasks"}

// Two `sundial server` processes on one PostgreSQL database. A runs
// workflows and is paused (SIGSTOP); B starts and takes every shard; A is
// resumed (SIGCONT) and must not change a single row: its fenced writes
// fail with ownership lost and it stops its shards instead of taking them
// back. B completes every workflow, and no history has a duplicate event.
func TestTwoServerProcesses(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 2*time.Minute)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(twoProcessConfig), 0o600))
	env := []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
		"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password}

	outA, outB := &lockedBuffer{}, &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process A output:\n%s\nprocess B output:\n%s", outA.String(), outB.String())
		}
	})
	a := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-a"), outA)
	cA := dialWhenUp(t, ctx, a.addr, a.proc)
	t.Cleanup(cA.Close)

	db, err := postgres.OpenDB(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	installAudit(t, ctx, db)

	tq := uniqueName(t, "tq")
	wA := worker.New(cA, tq, worker.Options{})
	registerTimerThenActivity(wA)
	require.NoError(t, wA.Start())

	// Timers of 2 to 22 s: some fire on B while A is paused, others are
	// still pending in A's memory when it resumes.
	const n = 30
	runs := make([]client.WorkflowRun, n)
	for i := range n {
		runs[i], err = cA.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-wf-%02d", tq, i), TaskQueue: tq}, "TimerThenActivity", i, time.Duration(2+4*(i%6))*time.Second)
		require.NoError(t, err, "start %d", i)
	}
	time.Sleep(time.Second) // some workflows progress on A
	require.NoError(t, a.proc.cmd.Process.Signal(syscall.SIGSTOP))
	pausedAt := time.Now()

	b := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-b"), outB)
	cB := dialWhenUp(t, ctx, b.addr, b.proc)
	t.Cleanup(cB.Close)
	wB := worker.New(cB, tq, worker.Options{})
	registerTimerThenActivity(wB)
	require.NoError(t, wB.Start())
	t.Cleanup(wB.Stop)

	// A stays paused well past idle_in_transaction_session_timeout (10 s),
	// so a transaction it had open was ended by the server.
	time.Sleep(time.Until(pausedAt.Add(15 * time.Second)))
	var resumedAt time.Time
	require.NoError(t, db.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&resumedAt))
	require.NoError(t, a.proc.cmd.Process.Signal(syscall.SIGCONT))

	awaitThrough(t, ctx, cB, runs, db)
	t.Logf("all workflows closed %v after A was resumed", time.Since(resumedAt).Round(time.Second))
	time.Sleep(2 * time.Second) // A had ample time to try writing
	requireNoWritesSince(t, ctx, db, "sundial-a", resumedAt)
	require.Contains(t, outA.String(), "shard ownership lost", "A never noticed it lost its shards")
	select {
	case <-a.proc.done:
		t.Fatalf("process A exited: %v", a.proc.cmd.ProcessState)
	default:
	}
}

// awaitThrough waits through c for every run to complete exactly once
// with a history free of duplicates (checkDurableRun).
func awaitThrough(t *testing.T, ctx context.Context, c client.Client, runs []client.WorkflowRun, db *sql.DB) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i := range runs {
		wg.Go(func() {
			_, errs[i] = checkDurableRun(ctx, c, c.GetWorkflow(ctx, runs[i].GetID(), runs[i].GetRunID()), i)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			events, herr := history(context.Background(), c, runs[i].GetID(), runs[i].GetRunID())
			t.Errorf("workflow %d: %v; history %v (%v)", i, err, eventTypes(events), herr)
		}
	}
	if t.Failed() {
		dumpAudit(t, db)
		t.FailNow()
	}
}

// requireNoWritesSince fails t if the process tagged app changed a row at
// or after since, and checks the audit records anything at all.
func requireNoWritesSince(t *testing.T, ctx context.Context, db *sql.DB, app string, since time.Time) {
	t.Helper()
	var writes, all int
	var tables string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(string_agg(DISTINCT tbl || ' ' || op, ', '), '')
		FROM write_audit WHERE app = $1 AND at >= $2`, app, since).Scan(&writes, &tables))
	require.Zero(t, writes, "%s changed %d rows after SIGCONT (%s)", app, writes, tables)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM write_audit`).Scan(&all))
	require.Positive(t, all, "the audit saw no write at all: it is not recording")
}

// installAudit adds the write_audit triggers once A has created the
// schema.
func installAudit(t *testing.T, ctx context.Context, db *sql.DB) {
	t.Helper()
	installRowTriggers(t, ctx, db, auditSQL, "audit_write", auditedTables)
}

// installRowTriggers runs setup, then makes fn an AFTER trigger of every
// row change of tables.
func installRowTriggers(t *testing.T, ctx context.Context, db *sql.DB, setup []string, fn string, tables []string) {
	t.Helper()
	for _, stmt := range setup {
		_, err := db.ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	for _, tbl := range tables {
		_, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TRIGGER %s_%s AFTER INSERT OR UPDATE OR DELETE ON %s
			FOR EACH ROW EXECUTE FUNCTION %s()`, fn, tbl, tbl, fn))
		require.NoError(t, err, "trigger on %s", tbl)
	}
}

// configuredServer is a `sundial server --config` child process.
type configuredServer struct {
	proc *serverProcess
	addr string
}

// startConfiguredServer starts bin with the config file (and args, e.g.
// --services) on a free port; it is killed (and continued first, if
// paused) when t ends.
func startConfiguredServer(t *testing.T, bin, cfgFile string, env []string, out *lockedBuffer, args ...string) *configuredServer {
	t.Helper()
	return startConfiguredServerOn(t, bin, cfgFile, env, out, freePort(t), args...)
}

// startConfiguredServerOn is startConfiguredServer on a given port (a
// restart on the address clients already use).
func startConfiguredServerOn(t *testing.T, bin, cfgFile string, env []string, out *lockedBuffer, port int, args ...string) *configuredServer {
	t.Helper()
	return startConfiguredServerIn(t, nil, bin, cfgFile, env, out, port, args...)
}

// startConfiguredServerIn is startConfiguredServerOn with bin run behind
// prefix (`ip netns exec NS`, which execs it: the process is still the
// server's).
func startConfiguredServerIn(t *testing.T, prefix []string, bin, cfgFile string, env []string, out *lockedBuffer, port int, args ...string) *configuredServer {
	t.Helper()
	argv := append(append(append([]string{}, prefix...), bin, "server", "--config", cfgFile), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), env...), "SUNDIAL_PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	p := &serverProcess{cmd: cmd, output: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		p.kill()
	})
	return &configuredServer{proc: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}

// dumpAudit logs who changed which table when, for a failed run.
func dumpAudit(t *testing.T, db *sql.DB) {
	rows, err := db.QueryContext(context.Background(), `SELECT app, tbl, op, COUNT(*), MIN(at), MAX(at)
		FROM write_audit GROUP BY app, tbl, op ORDER BY app, tbl, op`)
	if err != nil {
		t.Logf("write audit: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var app, tbl, op string
		var n int
		var first, last time.Time
		if err := rows.Scan(&app, &tbl, &op, &n, &first, &last); err == nil {
			t.Logf("audit: %s %s %s x%d %s..%s", app, tbl, op, n, first.Format("15:04:05.000"), last.Format("15:04:05.000"))
		}
	}
}

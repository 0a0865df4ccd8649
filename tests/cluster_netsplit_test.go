package tests

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sundialhq/sundial/internal/persistence/postgres"
)

// partitionConfig is one cluster's config in a netLab: every process
// listens on its own host's address (SUNDIAL_IP) on the same ports, and
// tags its database sessions with SUNDIAL_APP.
const partitionConfig = `
log:
  level: info
persistence:
  numHistoryShards: 16
  defaultStore: default
  visibilityStore: default
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: postgres
        connectAddr: ${SUNDIAL_DB_ADDR}
        connectProtocol: tcp
        user: postgres
        maxConns: 8
        connectAttributes:
          application_name: ${SUNDIAL_APP}
services:
  frontend:
    rpc:
      grpcPort: ${SUNDIAL_PORT}
      bindOnIP: ${SUNDIAL_IP}
  history:
    rpc:
      grpcPort: 7234
      bindOnIP: ${SUNDIAL_IP}
  matching:
    rpc:
      grpcPort: 7235
      bindOnIP: ${SUNDIAL_IP}
`

// fenceAuditSQL records every committed row change of the shard-owned
// tables with the writer's application_name, the row's shard, for the
// shards table the range_id written (an acquisition or renewal), and for
// the outbox tables the task ID, whose high bits are the range ID its
// writer held (history's task IDs are rangeID<<20 + sequence).
var fenceAuditSQL = []string{
	`CREATE TABLE fence_audit (app TEXT, tbl TEXT, op TEXT, shard_id INTEGER, range_id BIGINT, task_id BIGINT,
		at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
	`CREATE FUNCTION fence_audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE r jsonb;
	BEGIN
		IF TG_OP = 'DELETE' THEN r := to_jsonb(OLD); ELSE r := to_jsonb(NEW); END IF;
		INSERT INTO fence_audit (app, tbl, op, shard_id, range_id, task_id) VALUES (current_setting('application_name'),
			TG_TABLE_NAME, TG_OP, (r->>'shard_id')::int, (r->>'range_id')::bigint, (r->>'task_id')::bigint);
		RETURN NULL;
	END $$`,
}

var shardTables = []string{"shards", "executions", "current_executions", "history_events", "transfer_tasks", "timer_tasks"}

// Issue 14, must-be-true 3: a history host cut off from the database and
// from every other host by the network (its link taken down, packets
// dropped, no reset) writes nothing it cannot fence, and after the link
// heals no history has a duplicate event.
//
// Four network namespaces: PostgreSQL, history h1, history h2, and one
// process with frontend, matching and worker. The test drives workflows
// (timer, signal, activity) through the frontend from inside its namespace.
// h1 is cut off mid-load; h2 takes every shard once h1's membership row
// expires; after 15 s the link comes back, with whatever h1 had in flight
// (its sockets' unsent data, its timers, its in-memory state) free to
// reach the database. Every change of a shard-owned row is audited: each
// one h1 committed after the cut must follow h1's own latest acquisition
// of that shard, never another host's.
func TestClusterPartitionedHistoryHost(t *testing.T) {
	lab := newNetLab(t, "db", "h1", "h2", "app")
	ctx := testContext(t, 4*time.Minute)
	const shards = 16
	pg := newPGClusterIn(t, lab.prefixCmd("db"), lab.host("db").ip, 5432)
	bin := buildSundial(t)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(partitionConfig), 0o600))

	procs := map[string]*clusterProcess{}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(pg.dir, "log")); err == nil {
				t.Logf("PostgreSQL log:\n%s", b)
			}
			for _, name := range []string{"h1", "h2", "app"} {
				if p := procs[name]; p != nil {
					t.Logf("process %s output:\n%s", name, p.out.String())
				}
			}
		}
	})
	start := func(host, services string, port int) *clusterProcess {
		out := &lockedBuffer{}
		tokenFile := filepath.Join(t.TempDir(), "admin.token")
		env := []string{"SUNDIAL_DB_ADDR=" + pg.addr(), "SUNDIAL_IP=" + lab.host(host).ip, "SUNDIAL_APP=sundial-" + host}
		srv := startConfiguredServerIn(t, lab.prefixCmd(host), bin, cfgFile, env, out, 7233, "--services", services,
			"--admin-port", "7300", "--log-level", "info", "--admin-token-file", tokenFile,
			"--allow-no-auth") // the lab network is the test's own
		srv.addr = net.JoinHostPort(lab.host(host).ip, "7233")
		p := &clusterProcess{name: host, srv: srv, out: out, admin: "127.0.0.1:7300", tokenFile: tokenFile,
			http: lab.httpClient(host)}
		procs[host] = p
		// Up once its own port answers, from inside its namespace.
		addr := net.JoinHostPort(lab.host(host).ip, fmt.Sprint(port))
		for {
			c, err := lab.dial(host)(ctx, "tcp", addr)
			if err == nil {
				_ = c.Close()
				return p
			}
			select {
			case <-srv.proc.done:
				t.Fatalf("%s exited before serving: %v\n%s", host, srv.proc.cmd.ProcessState, out.String())
			case <-ctx.Done():
				t.Fatalf("%s never listened on %s: %v\n%s", host, addr, err, out.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	h1 := start("h1", "history", 7234) // creates the schema
	db, err := postgres.OpenDB(postgres.Options{Addr: pg.addr(), Database: "postgres", User: "postgres",
		Dial: lab.dial("db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	installRowTriggers(t, ctx, db, fenceAuditSQL, "fence_audit_write", shardTables)
	h2 := start("h2", "history", 7234)
	app := start("app", "frontend,matching,worker", 7233)
	awaitOwnership(t, ctx, []*clusterProcess{h1, h2}, shards, "h1 and h2")

	c := dialWhenUpVia(t, ctx, app.srv.addr, app.srv.proc, lab.dial("app"))
	t.Cleanup(c.Close)
	load := &clusterLoad{t: t, c1: c, c2: c}
	tq := uniqueName(t, "tq")
	load.startWorkers(tq)

	// Workflows start every 50 ms until the test has seen the cuts and
	// the heals.
	steady := load.startSteadyLoad(testContext(t, 150*time.Second), tq)
	completed, awaitProgress := steady.completed, steady.awaitProgress
	dbNow := func() time.Time {
		var now time.Time
		require.NoError(t, db.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&now))
		return now
	}

	awaitProgress(0, "before the cut")
	// Two outages. In the first h1 keeps running: it sees its membership
	// lease lapse by its own clock and stops its shards before the link
	// heals. In the second it is frozen (SIGSTOP) a second after the cut,
	// before it can notice anything, and resumed as the link heals: it
	// wakes believing it still owns its shards, with timers and retries
	// due, and only the range fence stands between its writes and the
	// shards h2 now holds.
	firstCut := time.Time{}
	for _, frozen := range []bool{false, true} {
		before, ok, why := ownership(ctx, []*clusterProcess{h1, h2}, shards)
		require.True(t, ok, why)
		cutAt := dbNow()
		if firstCut.IsZero() {
			firstCut = cutAt
		}
		lab.cut("h1")
		if frozen {
			time.Sleep(time.Second) // the time h1 runs cut off before the freeze
			require.NoError(t, h1.srv.proc.cmd.Process.Signal(syscall.SIGSTOP))
		}
		t.Logf("h1 cut off (frozen: %v) with %d workflows completed; it served shards %v", frozen, completed(), before["h1"])
		took, _ := awaitOwnership(t, ctx, []*clusterProcess{h2}, shards, "h2 alone")
		t.Logf("h2 serves every shard %.1f s after the cut", took.Seconds())
		awaitProgress(completed(), "while h1 is cut off")
		if d := time.Until(cutAt.Add(15 * time.Second)); d > 0 {
			time.Sleep(d) // the length of the outage, not a wait for a result
		}
		healAt := dbNow()
		lab.heal("h1")
		if frozen {
			require.NoError(t, h1.srv.proc.cmd.Process.Signal(syscall.SIGCONT))
		}
		took, after := awaitOwnership(t, ctx, []*clusterProcess{h1, h2}, shards, "h1 healed")
		t.Logf("link healed after %.1f s; h1 serves shards %v again %.1f s later", healAt.Sub(cutAt).Seconds(),
			after["h1"], took.Seconds())
		// The audit saw the move both ways, so the checks below have
		// something to check: h2 took h1's shards after the cut, and h1
		// took some back after the heal.
		var takenOver, retaken int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT shard_id) FROM fence_audit
			WHERE app = 'sundial-h2' AND tbl = 'shards' AND at > $1 AND at < $2 AND shard_id = ANY($3)`,
			cutAt, healAt, before["h1"]).Scan(&takenOver))
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT shard_id) FROM fence_audit
			WHERE app = 'sundial-h1' AND tbl = 'shards' AND at > $1`, healAt).Scan(&retaken))
		require.Equal(t, len(before["h1"]), takenOver, "h2 did not acquire every shard h1 served")
		require.Positive(t, retaken, "h1 never took a shard back after the heal")
		awaitProgress(completed(), "after the heal")
	}
	runs, _ := steady.finish(ctx)
	t.Logf("%d workflows completed; %d client calls answered retryable codes and were retried", len(runs), steady.retried.Load())
	load.checkLoadHistories(ctx, runs)

	// The audit: every shard-owned row h1 changed after the first cut
	// follows h1's own latest write of that shard's range (an acquisition
	// or renewal), not another host's.
	unfenced := fenceViolations(t, ctx, db, "sundial-h1", firstCut)
	require.Empty(t, unfenced, "h1 changed rows of shards another host held")
	// And every outbox task committed by anyone was written under the
	// shard's range at the time: a write sent under an older range (a
	// stale owner's, arriving late) was refused, even one from a host
	// that has since taken the shard back.
	stale := staleOutboxWrites(t, ctx, db, firstCut)
	require.Empty(t, stale, "outbox tasks committed under a superseded range")
	for _, line := range strings.Split(h1.out.String(), "\n") {
		if strings.Contains(line, "lapsed") || strings.Contains(line, "ownership lost") {
			t.Logf("h1: %s", line)
		}
	}
}

// staleOutboxWrites lists the outbox tasks inserted at or after since
// whose range (task ID >> 20) was already superseded by a higher range_id
// written to their shard before the insert.
func staleOutboxWrites(t *testing.T, ctx context.Context, db *sql.DB, since time.Time) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT a.app, a.tbl, a.shard_id, a.task_id >> 20, a.at,
			(SELECT MAX(b.range_id) FROM fence_audit b WHERE b.tbl = 'shards' AND b.shard_id = a.shard_id AND b.at < a.at)
		FROM fence_audit a
		WHERE a.tbl IN ('transfer_tasks', 'timer_tasks') AND a.op = 'INSERT' AND a.at >= $1
		  AND EXISTS (SELECT 1 FROM fence_audit b WHERE b.tbl = 'shards' AND b.shard_id = a.shard_id AND b.at < a.at
			AND b.range_id > a.task_id >> 20)
		ORDER BY a.at`, since)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var app, tbl string
		var shard int32
		var used, current int64
		var at time.Time
		require.NoError(t, rows.Scan(&app, &tbl, &shard, &used, &at, &current))
		out = append(out, fmt.Sprintf("%s inserted into %s of shard %d at %s under range %d, superseded by %d",
			app, tbl, shard, at.Format(time.RFC3339Nano), used, current))
	}
	require.NoError(t, rows.Err())
	return out
}

// fenceViolations lists the audited changes app made at or after since to
// a shard-owned row whose shard's latest range write before it was made
// by another process: writes a fence should have refused.
func fenceViolations(t *testing.T, ctx context.Context, db *sql.DB, app string, since time.Time) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT a.tbl, a.op, a.shard_id, a.at,
			(SELECT b.app || ' range ' || b.range_id FROM fence_audit b
			 WHERE b.tbl = 'shards' AND b.shard_id = a.shard_id AND b.at <= a.at ORDER BY b.at DESC LIMIT 1)
		FROM fence_audit a
		WHERE a.app = $1 AND a.at >= $2 AND a.tbl <> 'shards' AND a.shard_id IS NOT NULL
		  AND (SELECT b.app FROM fence_audit b
			 WHERE b.tbl = 'shards' AND b.shard_id = a.shard_id AND b.at <= a.at ORDER BY b.at DESC LIMIT 1) <> $1
		ORDER BY a.at`, app, since)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tbl, op string
		var shard int32
		var at time.Time
		var holder sql.NullString
		require.NoError(t, rows.Scan(&tbl, &op, &shard, &at, &holder))
		out = append(out, fmt.Sprintf("%s %s shard %d at %s while the latest range was %s's", op, tbl, shard,
			at.Format(time.RFC3339Nano), holder.String))
	}
	require.NoError(t, rows.Err())
	slices.Sort(out)
	return out
}

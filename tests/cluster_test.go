package tests

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/server"
)

// clusterConfig places history and matching on internal addresses, which
// makes each `sundial server` process join the database's membership
// table and serve only the shards and partitions the ring gives it.
const clusterConfig = `
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
        databaseName: ${SUNDIAL_DB}
        connectAddr: ${SUNDIAL_DB_ADDR}
        connectProtocol: tcp
        user: ${SUNDIAL_DB_USER:postgres}
        password: ${SUNDIAL_DB_PASSWORD}
        maxConns: 8
services:
  frontend:
    rpc:
      grpcPort: ${SUNDIAL_PORT}
      bindOnIP: 127.0.0.1
  history:
    rpc:
      grpcPort: ${SUNDIAL_HISTORY_PORT}
      bindOnIP: 127.0.0.1
  matching:
    rpc:
      grpcPort: ${SUNDIAL_MATCHING_PORT}
      bindOnIP: 127.0.0.1
`

// shardRanges reads every shard's range_id.
func shardRanges(t *testing.T, ctx context.Context, db *sql.DB) map[int32]int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT shard_id, range_id FROM shards`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var id int32
		var r int64
		require.NoError(t, rows.Scan(&id, &r))
		out[id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// clusterProcess is one `sundial server` of the cluster test with its
// admin endpoint.
type clusterProcess struct {
	name  string
	srv   *configuredServer
	admin string
	// tokenFile holds the admin endpoint's token (--admin-token-file),
	// written anew at each start.
	tokenFile string
	out       *lockedBuffer
	// http reaches the admin endpoint (nil: http.DefaultClient).
	http *http.Client
}

// startClusterProcess starts a `sundial server` running every role, with
// internal ports and an admin endpoint of its own, named name.
func startClusterProcess(t *testing.T, bin, cfgFile string, env []string, name string) *clusterProcess {
	t.Helper()
	adminPort := freePort(t)
	out := &lockedBuffer{}
	penv := append(slices.Clone(env), "SUNDIAL_HISTORY_PORT="+strconv.Itoa(freePort(t)),
		"SUNDIAL_MATCHING_PORT="+strconv.Itoa(freePort(t)))
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	srv := startConfiguredServer(t, bin, cfgFile, penv, out, "--admin-port", strconv.Itoa(adminPort),
		"--admin-token-file", tokenFile)
	return &clusterProcess{name: name, srv: srv, out: out, admin: "localhost:" + strconv.Itoa(adminPort), tokenFile: tokenFile}
}

func (p *clusterProcess) describe(ctx context.Context) (server.AdminCluster, error) {
	var out server.AdminCluster
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.admin+"/admin/cluster", nil)
	if err != nil {
		return out, err
	}
	token, err := os.ReadFile(p.tokenFile)
	if err != nil {
		return out, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	hc := p.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("admin cluster: %s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// ownership asks every process what it serves. It reports ok when the
// processes' shards are disjoint and cover all n shards, each process
// serves at least one, and every process's ring agrees with what the
// owners serve.
func ownership(ctx context.Context, procs []*clusterProcess, n int) (owned map[string][]int32, ok bool, why string) {
	owned = map[string][]int32{}
	owner := map[int32]string{}
	for _, p := range procs {
		d, err := p.describe(ctx)
		if err != nil {
			return nil, false, fmt.Sprintf("%s: %v", p.name, err)
		}
		if len(d.Owned.Shards) == 0 {
			return owned, false, p.name + " serves no shard"
		}
		owned[p.name] = d.Owned.Shards
		for _, sh := range d.Owned.Shards {
			if prev, dup := owner[sh]; dup {
				return owned, false, fmt.Sprintf("shard %d served by %s and %s", sh, prev, p.name)
			}
			owner[sh] = d.Self
		}
		for _, s := range d.Shards {
			if s.Owner == "" {
				return owned, false, fmt.Sprintf("%s's ring has no owner for shard %d", p.name, s.Shard)
			}
		}
	}
	if len(owner) != n {
		return owned, false, fmt.Sprintf("%d of %d shards served", len(owner), n)
	}
	for _, p := range procs {
		d, _ := p.describe(ctx)
		for _, s := range d.Shards {
			if owner[s.Shard] != s.Owner {
				return owned, false, fmt.Sprintf("%s's ring gives shard %d to %s, served by %s", p.name, s.Shard, s.Owner, owner[s.Shard])
			}
		}
	}
	return owned, true, ""
}

// awaitOwnership polls ownership until it holds, and returns how long
// that took and the shards each process serves.
func awaitOwnership(t *testing.T, ctx context.Context, procs []*clusterProcess, n int, what string) (time.Duration, map[string][]int32) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(45 * time.Second)
	for {
		owned, ok, why := ownership(ctx, procs, n)
		if ok {
			return time.Since(start), owned
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: shard ownership did not converge in 45 s: %s (owned %v)", what, why, owned)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Three `sundial server` processes on one PostgreSQL database split the
// history shards by the membership ring; one paused past the TTL loses
// its shards and takes its share back when resumed; after a kill -9 the two others
// take the dead one's shards once its membership row expires; after a
// SIGTERM the leaving process releases its shards and deletes its row
// before it exits, so the last one takes everything without waiting for
// the TTL.
func TestClusterShardOwnership(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(clusterConfig), 0o600))
	env := []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
		"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password}
	const shards = 16

	var procs []*clusterProcess
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("process %s output:\n%s", p.name, p.out.String())
			}
		}
	})
	for _, name := range []string{"a", "b", "c"} {
		p := startClusterProcess(t, bin, cfgFile, env, name)
		procs = append(procs, p)
		srv := p.srv
		if name == "a" {
			// a creates the schema; the others start on it.
			c := dialWhenUp(t, ctx, srv.addr, srv.proc)
			c.Close()
		}
	}
	took, owned := awaitOwnership(t, ctx, procs, shards, "three processes")
	t.Logf("3 processes: shards split %v (converged %v after start)", owned, took.Round(time.Millisecond))
	// The operator's view: `sundial admin cluster describe`.
	cli, err := exec.CommandContext(ctx, bin, "admin", "cluster", "describe", "--address", procs[0].admin,
		"--admin-token-file", procs[0].tokenFile).Output()
	require.NoError(t, err)
	var d server.AdminCluster
	require.NoError(t, json.Unmarshal(cli, &d), "%s", cli)
	history := 0
	for _, m := range d.Members {
		if m.Role == "history" && m.Alive {
			history++
			require.NotEmpty(t, m.RPCAddress, "member %s has no RPC address", m.Identity)
		}
	}
	require.Equal(t, 3, history, "live history members: %+v", d.Members)
	require.True(t, d.Clustered)

	// a is paused past the TTL: b and c take its shards. Resumed, a finds
	// its lease lapsed, gives up what it held in memory (its stale
	// writes would fail on the fence anyway) and takes its share back with
	// fresh ranges.
	require.NoError(t, procs[0].srv.proc.cmd.Process.Signal(syscall.SIGSTOP))
	took, owned = awaitOwnership(t, ctx, procs[1:], shards, "a paused")
	t.Logf("a paused: b and c own all %d shards %v after %v", shards, owned, took.Round(time.Millisecond))
	db, err := postgres.OpenDB(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	paused := shardRanges(t, ctx, db)
	require.NoError(t, procs[0].srv.proc.cmd.Process.Signal(syscall.SIGCONT))
	took, owned = awaitOwnership(t, ctx, procs, shards, "a resumed")
	t.Logf("a resumed: shards split %v again after %v", owned, took.Round(time.Millisecond))
	require.Contains(t, procs[0].out.String(), "membership lease had lapsed")
	resumed := shardRanges(t, ctx, db)
	for _, sh := range owned["a"] {
		require.Greater(t, resumed[sh], paused[sh], "a serves shard %d without having acquired it again", sh)
	}

	// kill -9 of c: a and b take its shards once its row expires.
	cSelf, err := procs[2].describe(ctx)
	require.NoError(t, err)
	require.NoError(t, procs[2].srv.proc.cmd.Process.Signal(syscall.SIGKILL))
	<-procs[2].srv.proc.done
	took, owned = awaitOwnership(t, ctx, procs[:2], shards, "after kill -9")
	t.Logf("kill -9 of c: a and b own all %d shards %v after %v", shards, owned, took.Round(time.Millisecond))

	// SIGTERM of b: it hands its shards over and removes its membership
	// rows before it exits.
	bSelf, err := procs[1].describe(ctx)
	require.NoError(t, err)
	termAt := time.Now()
	require.NoError(t, procs[1].srv.proc.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-procs[1].srv.proc.done:
	case <-ctx.Done():
		t.Fatal("b did not exit after SIGTERM")
	}
	exited := time.Since(termAt)
	require.Contains(t, procs[1].out.String(), "left the cluster")
	var rows int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cluster_membership WHERE identity = $1`,
		bSelf.Self).Scan(&rows))
	require.Zero(t, rows, "b's membership rows are still there after it exited: it did not leave")
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM cluster_membership WHERE identity = $1`,
		cSelf.Self).Scan(&rows))
	require.Positive(t, rows, "c's rows (killed, never left) were expected to stay until pruned")
	took, owned = awaitOwnership(t, ctx, procs[:1], shards, "after SIGTERM")
	t.Logf("SIGTERM of b: it exited after %v; a owns all %d shards %v %v after the signal",
		exited.Round(time.Millisecond), shards, owned, (exited + took).Round(time.Millisecond))
}

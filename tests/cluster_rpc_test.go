package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/persistence/postgres"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// clusterRPCConfig is twoProcessConfig with the internal gRPC listeners of
// history and matching, in internode mutual TLS.
const clusterRPCConfig = twoProcessConfig + `
  history:
    rpc:
      grpcPort: ${SUNDIAL_HISTORY_PORT}
      bindOnIP: 127.0.0.1
  matching:
    rpc:
      grpcPort: ${SUNDIAL_MATCHING_PORT}
      bindOnIP: 127.0.0.1
global:
  tls:
    internode:
      server:
        certFile: ${SUNDIAL_NODE_CERT}
        keyFile: ${SUNDIAL_NODE_KEY}
        clientCaFiles:
          - ${SUNDIAL_NODE_CA}
        requireClientAuth: true
      client:
        serverName: localhost
        rootCaFiles:
          - ${SUNDIAL_NODE_CA}
`

// Frontend (with the worker role), history and two matching processes on
// one PostgreSQL database, reaching each other over internal
// gRPC (mutual TLS), finding each other through the membership table. The golden scenarios (timers, activities,
// signals, updates, children, ...) run through the frontend process and
// must produce exactly the histories of one process; queries cross
// frontend → history → matching → worker and back.
func TestRolesInSeparateProcesses(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(clusterRPCConfig), 0o600))
	historyPort, matchingPort, matchingPort2 := freePort(t), freePort(t), freePort(t)
	ca := certtest.NewCA(t, "internode-ca")
	certDir := t.TempDir()
	nodeCert, nodeKey := ca.Node(t).WriteFiles(t, certDir, "node")
	caFile := filepath.Join(certDir, "ca.pem")
	certtest.WriteFile(t, caFile, ca.CertPEM)
	env := []string{"SUNDIAL_NODE_CERT=" + nodeCert, "SUNDIAL_NODE_KEY=" + nodeKey, "SUNDIAL_NODE_CA=" + caFile, "SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
		"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password,
		"SUNDIAL_HISTORY_PORT=" + strconv.Itoa(historyPort)}

	outs := map[string]*lockedBuffer{"history": {}, "matching": {}, "matching2": {}, "frontend": {}}
	t.Cleanup(func() {
		if t.Failed() {
			for role, out := range outs {
				t.Logf("%s process output:\n%s", role, out.String())
			}
		}
	})
	// One at a time: the first migrates the schema.
	hist := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-history"), outs["history"],
		"--services", "history")
	waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(historyPort)), hist.proc)
	db, err := postgres.OpenDB(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	installAudit(t, ctx, db) // who writes what: the schema exists once history listens
	match := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-matching",
		"SUNDIAL_MATCHING_PORT="+strconv.Itoa(matchingPort)), outs["matching"], "--services", "matching")
	match2 := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-matching2",
		"SUNDIAL_MATCHING_PORT="+strconv.Itoa(matchingPort2)), outs["matching2"], "--services", "matching")
	waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(matchingPort)), match.proc)
	waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(matchingPort2)), match2.proc)
	fe := startConfiguredServer(t, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-frontend"), outs["frontend"],
		"--services", "frontend,worker")
	c := dialWhenUp(t, ctx, fe.addr, fe.proc)
	t.Cleanup(c.Close)
	// Only the frontend process serves the public API.
	for _, p := range []*configuredServer{hist, match} {
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			conn.Close()
			t.Fatalf("a process without the frontend role serves the public API on %s", p.addr)
		}
	}

	// The internal ports speak mutual TLS only: a plaintext call, or one
	// without the node certificate, never reaches history (Unavailable);
	// with it, the call reaches the engine (which finds no such workflow).
	node := ca.Node(t).TLS(t)
	for name, creds := range map[string]credentials.TransportCredentials{
		"plaintext":      insecure.NewCredentials(),
		"no client cert": credentials.NewTLS(&tls.Config{RootCAs: certtest.Pool(ca), ServerName: "localhost"}),
		"node cert": credentials.NewTLS(&tls.Config{RootCAs: certtest.Pool(ca), ServerName: "localhost",
			Certificates: []tls.Certificate{node}}),
	} {
		conn, err := grpc.NewClient(net.JoinHostPort("127.0.0.1", strconv.Itoa(historyPort)), grpc.WithTransportCredentials(creds))
		require.NoError(t, err)
		_, err = rpcpb.NewHistoryServiceClient(conn).DescribeWorkflowExecution(ctx, &rpcpb.DescribeWorkflowExecutionRequest{
			NamespaceId: "no-such-namespace", Request: &workflowservice.DescribeWorkflowExecutionRequest{
				Execution: &commonpb.WorkflowExecution{WorkflowId: "no-such-workflow"}}})
		require.Error(t, err, name)
		if name == "node cert" {
			require.NotEqual(t, codes.Unavailable, status.Code(err), "%s: %v", name, err)
		} else {
			require.Equal(t, codes.Unavailable, status.Code(err), "%s: %v", name, err)
		}
		require.NoError(t, conn.Close())
	}

	tenv := &testEnv{addr: fe.addr, client: c, logs: &lockedBuffer{}}
	t.Run("golden", func(t *testing.T) {
		for _, sc := range goldenScenarios() {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t, 90*time.Second)
				for _, r := range sc.run(t, tenv, ctx) {
					events := requireHistory(t, ctx, c, r.workflowID, r.runID)
					got, err := goldenJSON(events)
					require.NoError(t, err)
					compareGolden(t, r.name, got)
				}
			})
		}
	})
	t.Run("query", func(t *testing.T) {
		tq := uniqueName(t, "tq")
		tenv.startWorkerOn(t, tq, func(r worker.Registry) {
			r.RegisterWorkflowWithOptions(queryable, workflow.RegisterOptions{Name: "Queryable"})
		})
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "Queryable")
		require.NoError(t, err)
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
		eventually(t, ctx, "the query to see the signal", func() error {
			got, err := queryString(t, c, run.GetID(), "state", "n=")
			if err != nil {
				return err
			}
			if got != "n=1" {
				return fmt.Errorf("%w: state %q", errNotYet, got)
			}
			return nil
		})
		_, err = queryString(t, c, run.GetID(), "boom")
		require.ErrorContains(t, err, "query handler exploded")
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
		var out string
		require.NoError(t, run.Get(ctx, &out))
		require.Equal(t, "1", out)
	})
	// The history process is SIGKILLed with workflows in flight and
	// started again on the same port: meanwhile the frontend answers
	// retryable codes, which the SDK retries; every workflow completes
	// exactly once.
	top := t // the restarted process outlives the subtest
	t.Run("history restart", func(t *testing.T) {
		tq := uniqueName(t, "tq")
		tenv.startWorkerOn(t, tq, registerTimerThenActivity)
		const n = 20
		runs := make([]client.WorkflowRun, n)
		for i := range n {
			runs[i], err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%02d", tq, i), TaskQueue: tq},
				"TimerThenActivity", i, time.Duration(1+i%4)*time.Second)
			require.NoError(t, err, "start %d", i)
		}
		hist.proc.kill()
		outs["history (restarted)"] = &lockedBuffer{}
		hist = startConfiguredServer(top, bin, cfgFile, append(env, "SUNDIAL_APP=sundial-history"), outs["history (restarted)"],
			"--services", "history")
		waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(historyPort)), hist.proc)
		awaitThrough(t, ctx, c, runs, db)
	})

	// Each role wrote only its own tables: the frontend process no
	// workflow or task queue rows (it routed every call), the history
	// process no task queue rows; and both matching processes served
	// task queues.
	writers := map[string]map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT app, tbl FROM write_audit`)
	require.NoError(t, err)
	for rows.Next() {
		var app, tbl string
		require.NoError(t, rows.Scan(&app, &tbl))
		if writers[tbl] == nil {
			writers[tbl] = map[string]bool{}
		}
		writers[tbl][app] = true
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, map[string]bool{"sundial-history": true}, writers["history_events"], "writers of history_events")
	require.Equal(t, map[string]bool{"sundial-history": true}, writers["executions"], "writers of executions")
	require.Equal(t, map[string]bool{"sundial-matching": true, "sundial-matching2": true}, writers["task_queues"],
		"writers of task_queues")
	procs := map[string]*configuredServer{"history": hist, "matching": match, "matching2": match2, "frontend": fe}
	for role, p := range procs {
		select {
		case <-p.proc.done:
			t.Fatalf("%s process exited: %v", role, p.proc.cmd.ProcessState)
		default:
		}
	}
	// Every process stops cleanly on SIGTERM, whatever roles it runs.
	c.Close()
	for role, p := range procs {
		require.NoError(t, p.proc.cmd.Process.Signal(syscall.SIGTERM), role)
	}
	for role, p := range procs {
		select {
		case <-p.proc.done:
			require.True(t, p.proc.cmd.ProcessState.Success(), "%s process: %v", role, p.proc.cmd.ProcessState)
		case <-ctx.Done():
			t.Fatalf("%s process did not stop on SIGTERM", role)
		}
	}
}

// waitListening waits until addr accepts TCP connections.
func waitListening(t *testing.T, ctx context.Context, addr string, p *serverProcess) {
	t.Helper()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("process exited before listening on %s: %v\n%s", addr, p.cmd.ProcessState, p.output.String())
		case <-ctx.Done():
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, p.output.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

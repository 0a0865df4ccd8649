package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqlstore"
	"github.com/sundialhq/sundial/internal/server"
)

const outageLength = 20 * time.Second

// PostgreSQL goes down for 20 s under load and comes back: the server
// stays up, clients see only UNAVAILABLE or DEADLINE_EXCEEDED meanwhile,
// and every workflow started before the outage completes exactly once,
// without a restart. The database is a private cluster, so nothing else
// on the machine notices.
func TestPostgresOutage(t *testing.T) {
	pg := newPGCluster(t)
	env := newEnvWith(t, func(cfg *server.Config) {
		cfg.DBFilename = ""
		cfg.Store = server.StoreConfig{Plugin: config.PluginPostgres,
			SQL: sqlstore.ServerOptions{Addr: pg.addr(), Database: "postgres", User: "postgres", MaxConns: 10}}
	})
	ctx := testContext(t, 3*time.Minute)
	tq := env.startWorker(t, registerTimerThenActivity)

	// Load: 60 workflows over 3 s, each sleeping 2 s, so many are in
	// flight (timers, activities, workflow tasks) when the database stops.
	const n = 60
	runs := make([]client.WorkflowRun, n)
	for i := range n {
		run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-wf-%02d", tq, i), TaskQueue: tq}, "TimerThenActivity", i, 2*time.Second)
		require.NoError(t, err, "start %d", i)
		runs[i] = run
		time.Sleep(50 * time.Millisecond)
	}

	pg.stop()
	stopped := time.Now()
	codes := probeDuringOutage(t, ctx, env.addr, tq, runs[0], stopped.Add(outageLength))
	pg.start()
	restarted := time.Now()
	t.Logf("database down %v; client calls meanwhile by code: %v", time.Since(stopped).Round(time.Second), codes)
	require.NotEmpty(t, codes, "no call was made during the outage")

	var wg sync.WaitGroup
	errs := make([]error, n)
	closed := make([]time.Time, n)
	for i := range n {
		wg.Go(func() { closed[i], errs[i] = checkDurableRun(ctx, env.client, runs[i], i) })
	}
	wg.Wait()
	after := 0
	var last time.Time
	for i, err := range errs {
		require.NoError(t, err, "workflow %d started before the outage", i)
		if closed[i].After(restarted) {
			after++
		}
		if closed[i].After(last) {
			last = closed[i]
		}
	}
	// Not asserted (timing): how long the workflows caught by the outage
	// took to finish once the database was back.
	t.Logf("%d of %d workflows completed after the database came back, the last %v after it",
		after, n, last.Sub(restarted).Round(100*time.Millisecond))
	require.Positive(t, after, "every workflow finished before the outage: it tested nothing")
	// The same server serves new work.
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: tq + "-after", TaskQueue: tq}, "TimerThenActivity", 7, time.Millisecond)
	require.NoError(t, err)
	_, err = checkDurableRun(ctx, env.client, run, 7)
	require.NoError(t, err)
}

// probeDuringOutage calls the frontend directly (no SDK retries) until
// until, starting workflows and reading a history, and fails t on any
// code but UNAVAILABLE or DEADLINE_EXCEEDED. It returns the codes seen.
func probeDuringOutage(t *testing.T, ctx context.Context, addr, tq string, run client.WorkflowRun, until time.Time) map[codes.Code]int {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	svc := workflowservice.NewWorkflowServiceClient(conn)
	seen := map[codes.Code]int{}
	for i := 0; time.Now().Before(until); i++ {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var err error
		if i%2 == 0 {
			_, err = svc.StartWorkflowExecution(cctx, &workflowservice.StartWorkflowExecutionRequest{
				Namespace: testNamespace, WorkflowId: fmt.Sprintf("%s-outage-%d", tq, i),
				WorkflowType: &commonpb.WorkflowType{Name: "TimerThenActivity"},
				TaskQueue:    &taskqueuepb.TaskQueue{Name: tq}, RequestId: fmt.Sprintf("outage-%d", i),
			})
		} else {
			_, err = svc.GetWorkflowExecutionHistory(cctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
				Namespace: testNamespace,
				Execution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
			})
		}
		cancel()
		code := status.Code(err)
		seen[code]++
		if code != codes.OK && code != codes.Unavailable && code != codes.DeadlineExceeded {
			t.Errorf("call %d during the outage: %v (want UNAVAILABLE or DEADLINE_EXCEEDED)", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return seen
}

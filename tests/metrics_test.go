package tests

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflows of the observability tests.

func obsActivityWorkflow(ctx workflow.Context, n int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out int
	err := workflow.ExecuteActivity(ctx, obsDouble, n).Get(ctx, &out)
	return out, err
}

func obsDouble(_ context.Context, n int) (int, error) { return 2 * n, nil }

func obsFailWorkflow(workflow.Context) error {
	return temporal.NewNonRetryableApplicationError("planned failure", "Planned", nil)
}

// obsWaitWorkflow waits until it is cancelled (then it ends cancelled),
// terminated or timed out.
func obsWaitWorkflow(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return false })
}

func obsEmptyWorkflow(workflow.Context) error { return nil }

func registerObs(r worker.Registry) {
	r.RegisterWorkflowWithOptions(obsActivityWorkflow, workflow.RegisterOptions{Name: "ObsActivity"})
	r.RegisterWorkflowWithOptions(obsFailWorkflow, workflow.RegisterOptions{Name: "ObsFail"})
	r.RegisterWorkflowWithOptions(obsWaitWorkflow, workflow.RegisterOptions{Name: "ObsWait"})
	r.RegisterWorkflowWithOptions(obsEmptyWorkflow, workflow.RegisterOptions{Name: "ObsEmpty"})
	r.RegisterActivity(obsDouble)
}

// startWorker starts a worker on tq with the observability workflows.
func (e *obsEnv) startWorker(t *testing.T, tq string, opts worker.Options) worker.Worker {
	t.Helper()
	w := worker.New(e.client, tq, opts)
	registerObs(w)
	require.NoError(t, w.Start(), "worker.Start on %s", tq)
	var once sync.Once
	stop := func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return &stoppableWorker{Worker: w, stop: stop}
}

// runActivityWorkflows runs n ObsActivity workflows one after the other.
func (e *obsEnv) runActivityWorkflows(t *testing.T, ctx context.Context, tq string, n int) {
	t.Helper()
	for i := range n {
		run, err := e.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "ObsActivity", i)
		require.NoError(t, err, "start %d", i)
		var out int
		require.NoError(t, run.Get(ctx, &out), "workflow %d", i)
		require.Equal(t, 2*i, out)
	}
}

// SDK workflows move the counters by exactly what happened: N completed
// runs raise workflow_success{namespace="default"} by N and the frontend's
// StartWorkflowExecution requests by N; a failed and a terminated run
// count once each; persistence, outbox task, matching and lock metrics
// move; runtime gauges are present; no Sundial counter ends in _total;
// and running workflows writes no Info-level log line.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	env := newObsEnv(t)
	ctx := testContext(t, 2*time.Minute)
	tq := uniqueName(t, "tq")
	env.startWorker(t, tq, worker.Options{})
	env.runActivityWorkflows(t, ctx, tq, 1) // warm up: worker registered, queues loaded

	before := env.scrape()
	infoBefore := env.infoLines()
	const n = 10
	env.runActivityWorkflows(t, ctx, tq, n)
	failRun, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "fail"), TaskQueue: tq}, "ObsFail")
	require.NoError(t, err)
	require.Error(t, failRun.Get(ctx, nil), "ObsFail fails")
	waitRun, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wait"), TaskQueue: tq}, "ObsWait")
	require.NoError(t, err)
	require.NoError(t, env.client.TerminateWorkflow(ctx, waitRun.GetID(), "", "test"))
	require.Error(t, waitRun.Get(ctx, nil), "ObsWait was terminated")
	after := env.scrape()

	delta := func(name string, ms ...matcher) float64 { return after.sum(name, ms...) - before.sum(name, ms...) }
	ns := eq("namespace", testNamespace)
	require.Equal(t, float64(n), delta("workflow_success", ns, eq("operation", "CompletionStats")), "workflow_success")
	require.Equal(t, 1.0, delta("workflow_failed", ns), "workflow_failed")
	require.Equal(t, 1.0, delta("workflow_terminate", ns), "workflow_terminate")
	require.Equal(t, 0.0, delta("workflow_timeout", ns)+delta("workflow_cancel", ns), "no timeout or cancel")

	start := []matcher{eq("service_name", "frontend"), eq("operation", "StartWorkflowExecution"), ns}
	require.Equal(t, float64(n+2), delta("service_requests", start...), "StartWorkflowExecution requests")
	require.Equal(t, float64(n+2), delta("service_latency_count", start...), "StartWorkflowExecution latency samples")
	require.Equal(t, 1.0, delta("service_requests", eq("operation", "TerminateWorkflowExecution"), ns))
	require.Equal(t, float64(n+2), delta("persistence_requests", eq("operation", "CreateWorkflow")), "CreateWorkflow calls")
	require.Positive(t, delta("persistence_requests", eq("operation", "UpdateWorkflow")))
	require.Positive(t, delta("persistence_latency_count", eq("operation", "UpdateWorkflow")))
	require.Equal(t, 0.0, delta("persistence_errors"), "no unexpected store errors")

	wft := []matcher{eq("task_type", "Workflow"), ns}
	require.GreaterOrEqual(t, delta("task_schedule_to_start_latency_count", wft...), float64(n+2))
	require.GreaterOrEqual(t, delta("poll_success", wft...), float64(n+2))
	require.GreaterOrEqual(t, delta("task_requests", eq("operation", "TransferActiveTaskWorkflowTask"), ns), float64(n+2))
	require.Positive(t, delta("task_latency_count", eq("operation", "VisibilityTaskUpsertExecution")))
	require.GreaterOrEqual(t, delta("state_transition_count_count"), float64(3*n))
	require.Positive(t, delta("lock_latency_count", eq("operation", "ShardLock")))
	require.Positive(t, delta("lock_latency_count", eq("operation", "WorkflowLock")))
	require.Positive(t, delta("cache_requests", eq("cache_type", "mutablestate")))
	require.Positive(t, delta("service_requests", eq("service_name", "matching"), eq("operation", "AddWorkflowTask")))

	require.Equal(t, 4.0, after.sum("numshards_gauge"), "numshards_gauge")
	require.Equal(t, 4.0, after.sum("acquire_shards_count"), "acquire_shards_count")
	require.Positive(t, after.sum("num_goroutines"))
	require.Positive(t, after.sum("memory_heap"))
	require.Positive(t, after.sum("cache_size"), "cache_size in bytes")
	for _, s := range after {
		if !strings.HasPrefix(s.name, "go_") && !strings.HasPrefix(s.name, "process_") {
			require.False(t, strings.HasSuffix(s.name, "_total"), "tally-style names have no _total: %s", s.name)
		}
	}
	require.Equal(t, infoBefore, env.infoLines(), "running workflows logs nothing at info:\n%s", env.logs.String())
}

// With one worker polling steadily, tasks are handed to waiting pollers
// in memory: poll_success_sync / poll_success >= 0.99.
func TestSyncMatchRatio(t *testing.T) {
	t.Parallel()
	env := newObsEnv(t)
	ctx := testContext(t, 3*time.Minute)
	tq := uniqueName(t, "tq")
	// Activities go through matching too (not eagerly with the workflow
	// task's completion).
	env.startWorker(t, tq, worker.Options{DisableEagerActivities: true})
	env.runActivityWorkflows(t, ctx, tq, 1) // the worker's pollers are waiting from here on

	before := env.scrape()
	env.runActivityWorkflows(t, ctx, tq, 200)
	after := env.scrape()
	success := after.sum("poll_success") - before.sum("poll_success")
	sync := after.sum("poll_success_sync") - before.sum("poll_success_sync")
	require.GreaterOrEqual(t, after.sum("poll_success", eq("task_type", "Activity"))-before.sum("poll_success", eq("task_type", "Activity")),
		200.0, "every activity went through matching")
	ratio := sync / success
	t.Logf("poll_success %v, poll_success_sync %v, ratio %.4f", success, sync, ratio)
	require.GreaterOrEqual(t, ratio, 0.99, "sync match ratio")
}

// errorsAndOutage makes the frontend answer NotFound, AlreadyStarted and
// (once) Unavailable from an injected store outage, which the SDK retries.
func (e *obsEnv) errorsAndOutage(t *testing.T, ctx context.Context, tq string) {
	t.Helper()
	_, err := e.client.DescribeWorkflowExecution(ctx, "no-such-workflow", "")
	require.ErrorAs(t, err, new(*serviceerror.NotFound))
	id := uniqueName(t, "dup")
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: tq, WorkflowExecutionErrorWhenAlreadyStarted: true}
	run, err := e.client.ExecuteWorkflow(ctx, opts, "ObsWait")
	require.NoError(t, err)
	_, err = e.client.ExecuteWorkflow(ctx, opts, "ObsWait")
	require.ErrorAs(t, err, new(*serviceerror.WorkflowExecutionAlreadyStarted))
	e.fault.failCurrentRun.Store(1)
	_, err = e.client.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err, "the SDK retries UNAVAILABLE")
	require.NoError(t, e.client.TerminateWorkflow(ctx, run.GetID(), "", "done"))
}

func TestMetricsErrors(t *testing.T) {
	t.Parallel()
	env := newObsEnv(t)
	ctx := testContext(t, time.Minute)
	tq := uniqueName(t, "tq")
	env.startWorker(t, tq, worker.Options{})
	before := env.scrape()
	env.errorsAndOutage(t, ctx, tq)
	after := env.scrape()
	delta := func(name string, ms ...matcher) float64 { return after.sum(name, ms...) - before.sum(name, ms...) }
	fe, ns := eq("service_name", "frontend"), eq("namespace", testNamespace)
	require.Equal(t, 1.0, delta("service_errors_entity_not_found", fe, ns, eq("operation", "DescribeWorkflowExecution")))
	require.Equal(t, 1.0, delta("service_errors_execution_already_started", fe, ns, eq("operation", "StartWorkflowExecution")))
	require.Equal(t, 1.0, delta("service_errors", fe, ns, eq("operation", "DescribeWorkflowExecution")), "Unavailable is unexpected")
	require.Equal(t, 1.0, delta("service_error_with_type", fe, eq("error_type", "Unavailable")))
	require.Equal(t, 1.0, delta("persistence_errors", eq("operation", "GetCurrentRun")))
	require.Equal(t, 0.0, delta("service_errors", eq("operation", "StartWorkflowExecution")),
		"expected errors are not service_errors")
	require.Positive(t, delta("persistence_error_with_type", eq("error_type", "NotFound")), "not-found answers are typed")
}

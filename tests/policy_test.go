package tests

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// startOnce starts "Nobody" (no worker) with the given policies and
// reports the run ID or the error.
func startOnce(t *testing.T, env *testEnv, id string, reuse enumspb.WorkflowIdReusePolicy, conflict enumspb.WorkflowIdConflictPolicy) (string, error) {
	ctx := testContext(t, 20*time.Second)
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: "no-worker", WorkflowIDReusePolicy: reuse, WorkflowIDConflictPolicy: conflict,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, "Nobody")
	if err != nil {
		return "", err
	}
	return run.GetRunID(), nil
}

func runStatus(t *testing.T, env *testEnv, id, runID string) enumspb.WorkflowExecutionStatus {
	d, err := env.client.DescribeWorkflowExecution(testContext(t, 10*time.Second), id, runID)
	require.NoError(t, err)
	return d.GetWorkflowExecutionInfo().GetStatus()
}

func requireAlreadyStarted(t *testing.T, err error, msg string) {
	t.Helper()
	var as *serviceerror.WorkflowExecutionAlreadyStarted
	require.True(t, errors.As(err, &as), "%s: want WorkflowExecutionAlreadyStarted, got %v", msg, err)
}

func TestWorkflowIDReusePolicies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	const unspecified = enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
	closeRun := func(id string) { require.NoError(t, env.client.TerminateWorkflow(ctx, id, "", "closing")) }

	id := uniqueName(t, "allow")
	first, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, unspecified)
	require.NoError(t, err)
	closeRun(id)
	second, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, unspecified)
	require.NoError(t, err)
	require.NotEqual(t, first, second)

	id = uniqueName(t, "reject")
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, unspecified)
	require.NoError(t, err)
	closeRun(id)
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, unspecified)
	requireAlreadyStarted(t, err, "REJECT_DUPLICATE after close")

	id = uniqueName(t, "failed-only")
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, unspecified)
	require.NoError(t, err)
	closeRun(id) // terminated counts as failed
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, unspecified)
	require.NoError(t, err, "ALLOW_DUPLICATE_FAILED_ONLY after a terminated run")

	// A run that completed successfully blocks ALLOW_DUPLICATE_FAILED_ONLY.
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Quick"})
	})
	id = uniqueName(t, "completed")
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "Quick")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	_, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, WorkflowExecutionErrorWhenAlreadyStarted: true}, "Quick")
	requireAlreadyStarted(t, err, "ALLOW_DUPLICATE_FAILED_ONLY after a completed run")

	id = uniqueName(t, "terminate-if-running")
	old, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, unspecified)
	require.NoError(t, err)
	fresh, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING, unspecified)
	require.NoError(t, err)
	require.NotEqual(t, old, fresh)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, old))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, fresh))

	_, err = startOnce(t, env, uniqueName(t, "bad"), enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	var invalid *serviceerror.InvalidArgument
	require.True(t, errors.As(err, &invalid), "TERMINATE_IF_RUNNING with a conflict policy: %v", err)
}

func TestWorkflowIDConflictPolicies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const allow = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	id := uniqueName(t, "conflict")
	first, err := startOnce(t, env, id, allow, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	require.NoError(t, err)
	_, err = startOnce(t, env, id, allow, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	requireAlreadyStarted(t, err, "FAIL while running")

	same, err := startOnce(t, env, id, allow, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
	require.NoError(t, err)
	require.Equal(t, first, same, "USE_EXISTING returns the running run")

	replaced, err := startOnce(t, env, id, allow, enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
	require.NoError(t, err)
	require.NotEqual(t, first, replaced)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, first))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, replaced))

	// The reuse policy judges only a run that closed by itself: a run that
	// TERMINATE_EXISTING terminated is replaced even under REJECT_DUPLICATE.
	again, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
	require.NoError(t, err, "TERMINATE_EXISTING with REJECT_DUPLICATE against a running run")
	require.NotEqual(t, replaced, again)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, replaced))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, again))
}

// Fifty concurrent starts of one workflow ID with mixed policies leave at
// most one open run.
func TestConcurrentStartsLeaveOneOpenRun(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	id := uniqueName(t, "race")
	policies := []struct {
		reuse    enumspb.WorkflowIdReusePolicy
		conflict enumspb.WorkflowIdConflictPolicy
	}{
		{enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL},
		{enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		{enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING},
		{enumspb.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING, enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED},
		{enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL},
	}
	var mu sync.Mutex
	runs := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := policies[i%len(policies)]
			if runID, err := startOnce(t, env, id, p.reuse, p.conflict); err == nil {
				mu.Lock()
				runs[runID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.NotEmpty(t, runs)
	open := 0
	for runID := range runs {
		if runStatus(t, env, id, runID) == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			open++
		}
	}
	require.LessOrEqual(t, open, 1, "open runs among %d started", len(runs))
	require.Equal(t, 1, open, "the last writer's run stays open")
}

package tests

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	historysvc "github.com/sundialhq/sundial/internal/history"
)

func registerFamily(r worker.Registry) {
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, childID string, fail bool) (string, error) {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: childID})
		var out string
		err := workflow.ExecuteChildWorkflow(cctx, "Child", fail).Get(ctx, &out)
		return "parent got " + out, err
	}, workflow.RegisterOptions{Name: "Parent"})
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, fail bool) (string, error) {
		if fail {
			return "", temporal.NewNonRetryableApplicationError("child failed", "ChildError", nil)
		}
		return "child result", nil
	}, workflow.RegisterOptions{Name: "Child"})
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.Await(ctx, func() bool { return false })
	}, workflow.RegisterOptions{Name: "Forever"})
}

func TestChildWorkflowResultAndFailure(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, registerFamily)
	childID := uniqueName(t, "child")
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Parent", childID, false)
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "parent got child result", out)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), 1)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 1)
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED), 1)
	child, err := env.client.DescribeWorkflowExecution(ctx, childID, "")
	require.NoError(t, err)
	require.Equal(t, run.GetID(), child.GetWorkflowExecutionInfo().GetParentExecution().GetWorkflowId())
	require.Equal(t, run.GetID(), child.GetWorkflowExecutionInfo().GetRootExecution().GetWorkflowId())

	run, err = env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Parent", uniqueName(t, "child"), true)
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	var childErr *temporal.ChildWorkflowExecutionError
	require.True(t, errors.As(err, &childErr), "want ChildWorkflowExecutionError, got %v", err)
	require.Contains(t, err.Error(), "child failed")
	events = requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED), 1)

	// A child whose ID is taken fails to start.
	busy := uniqueName(t, "busy")
	_, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: busy, TaskQueue: tq}, "Forever")
	require.NoError(t, err)
	run, err = env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Parent", busy, false)
	require.NoError(t, err)
	require.Error(t, run.Get(ctx, nil))
	events = requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	failed := eventsOfType(events, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
	require.Len(t, failed, 1, "%v", eventTypes(events))
	require.Equal(t, enumspb.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
		failed[0].GetStartChildWorkflowExecutionFailedEventAttributes().GetCause())
}

func TestParentClosePolicyTerminatesChild(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	childID := uniqueName(t, "child")
	tq := env.startWorker(t, func(r worker.Registry) {
		registerFamily(r)
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: childID, ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_TERMINATE,
			})
			return workflow.ExecuteChildWorkflow(cctx, "Forever").GetChildWorkflowExecution().Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "ShortParent"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "ShortParent")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	eventually(t, ctx, "the child to be terminated", func() error {
		d, err := env.client.DescribeWorkflowExecution(ctx, childID, "")
		if err != nil {
			return err
		}
		if s := d.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
			return fmt.Errorf("child status %v", s)
		}
		return nil
	})
}

func TestExternalSignalAndCancel(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		registerFamily(r)
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			var v string
			workflow.GetSignalChannel(ctx, "ping").Receive(ctx, &v)
			return v, nil
		}, workflow.RegisterOptions{Name: "Receiver"})
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, target string) error {
			if err := workflow.SignalExternalWorkflow(ctx, target, "", "ping", "pong").Get(ctx, nil); err != nil {
				return err
			}
			return workflow.SignalExternalWorkflow(ctx, "no-such-workflow", "", "ping", "x").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "Sender"})
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, target string) error {
			return workflow.RequestCancelExternalWorkflow(ctx, target, "").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "Canceller"})
	})
	receiver, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Receiver")
	require.NoError(t, err)
	sender, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Sender", receiver.GetID())
	require.NoError(t, err)
	var got string
	require.NoError(t, receiver.Get(ctx, &got))
	require.Equal(t, "pong", got)
	require.Error(t, sender.Get(ctx, nil), "signalling a missing workflow fails")
	events := requireHistory(t, ctx, env.client, sender.GetID(), sender.GetRunID())
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED), 1)
	failed := eventsOfType(events, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
	require.Len(t, failed, 1)
	require.Equal(t, enumspb.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
		failed[0].GetSignalExternalWorkflowExecutionFailedEventAttributes().GetCause())

	victim, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Forever")
	require.NoError(t, err)
	canceller, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Canceller", victim.GetID())
	require.NoError(t, err)
	require.NoError(t, canceller.Get(ctx, nil))
	var canceled *temporal.CanceledError
	require.True(t, errors.As(victim.Get(ctx, nil), &canceled), "the victim observes the cancellation")
	events = requireHistory(t, ctx, env.client, canceller.GetID(), canceller.GetRunID())
	require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1)
}

// Parents and children spread over shards survive a SIGKILL of the server
// while children are being started: every child starts exactly once.
func TestChildrenAcrossShardsSurviveKill(t *testing.T) {
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	output := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", output.String())
		}
	})
	dbFile := filepath.Join(t.TempDir(), "sundial.db")
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	first := startServerProcess(t, bin, dbFile, port, output)
	t.Cleanup(first.kill)
	c := dialWhenUp(t, ctx, addr, first)
	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	registerFamily(w)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	nsResp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	require.NoError(t, err)
	nsID := nsResp.GetNamespaceInfo().GetId()
	// Child IDs chosen so that each child lives on another shard than its
	// parent (start-dev runs 4 shards).
	childID := func(i int) string {
		parent := fmt.Sprintf("%s-parent-%d", tq, i)
		for k := 0; ; k++ {
			id := fmt.Sprintf("%s-child-%d-%d", tq, i, k)
			if historysvc.ShardFor(nsID, id, 4) != historysvc.ShardFor(nsID, parent, 4) {
				return id
			}
		}
	}
	const n = 40
	runs := make([]client.WorkflowRun, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			runs[i], err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-parent-%d", tq, i), TaskQueue: tq},
				"Parent", childID(i), false)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	first.kill()
	second := startServerProcess(t, bin, dbFile, port, output)
	t.Cleanup(second.kill)
	waitUntilServing(t, ctx, addr, second)
	for i, run := range runs {
		var out string
		require.NoError(t, run.Get(ctx, &out), "parent %d", i)
		require.Equal(t, "parent got child result", out)
		events, err := history(ctx, c, run.GetID(), run.GetRunID())
		require.NoError(t, err)
		require.NoError(t, checkContiguousIDs(events))
		require.Len(t, eventsOfType(events, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), 1, "parent %d: %v", i, eventTypes(events))
		child, err := c.DescribeWorkflowExecution(ctx, childID(i), "")
		require.NoError(t, err)
		info := child.GetWorkflowExecutionInfo()
		require.Equal(t, info.GetFirstRunId(), info.GetExecution().GetRunId(), "child %d started more than once", i)
	}
}

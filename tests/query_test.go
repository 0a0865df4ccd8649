package tests

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// queryable waits for a "done" signal; its "state" query answers the
// number of "sig" signals seen, and "boom" always fails.
func queryable(ctx workflow.Context) (string, error) {
	n := 0
	if err := workflow.SetQueryHandler(ctx, "state", func(prefix string) (string, error) {
		return fmt.Sprintf("%s%d", prefix, n), nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetQueryHandler(ctx, "boom", func() (string, error) {
		return "", errors.New("query handler exploded")
	}); err != nil {
		return "", err
	}
	sig := workflow.GetSignalChannel(ctx, "sig")
	done := workflow.GetSignalChannel(ctx, "done")
	for {
		sel := workflow.NewSelector(ctx)
		finished := false
		sel.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); n++ })
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); finished = true })
		sel.Select(ctx)
		if finished {
			return fmt.Sprint(n), nil
		}
	}
}

func queryString(t *testing.T, c client.Client, id, queryType string, args ...any) (string, error) {
	t.Helper()
	ctx := testContext(t, 20*time.Second)
	v, err := c.QueryWorkflow(ctx, id, "", queryType, args...)
	if err != nil {
		return "", err
	}
	var s string
	require.NoError(t, v.Get(&s))
	return s, nil
}

func TestQueries(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(queryable, workflow.RegisterOptions{Name: "Queryable"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Queryable")
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
	eventually(t, ctx, "the query to see the signal", func() error {
		got, err := queryString(t, env.client, run.GetID(), "state", "n=")
		if err != nil || got != "n=1" {
			return fmt.Errorf("state = %q, %v", got, err)
		}
		return nil
	})

	_, err = queryString(t, env.client, run.GetID(), "boom")
	var qf *serviceerror.QueryFailed
	require.True(t, errors.As(err, &qf), "a failing handler must give QueryFailed, got %v", err)
	require.Contains(t, err.Error(), "query handler exploded")

	trace, err := queryString(t, env.client, run.GetID(), "__stack_trace")
	require.NoError(t, err)
	require.Contains(t, trace, "coroutine")

	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))
	got, err := queryString(t, env.client, run.GetID(), "state", "closed:")
	require.NoError(t, err)
	require.Equal(t, "closed:1", got, "a completed workflow is queried by replaying its history")

	resp, err := env.client.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: run.GetID(), QueryType: "state", Args: []any{"x"},
		QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN,
	})
	require.NoError(t, err)
	require.NotNil(t, resp.QueryRejected, "NOT_OPEN must reject a query on a closed workflow")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, resp.QueryRejected.GetStatus())
}

// With no worker polling, a query fails with a clear deadline error within
// the client's deadline instead of hanging.
func TestQueryWithNoWorker(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 30*time.Second)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, uniqueName(t, "tq")), "Nobody")
	require.NoError(t, err)
	qctx := testContext(t, 4*time.Second)
	began := time.Now()
	_, err = env.client.QueryWorkflow(qctx, run.GetID(), "", "state")
	require.Error(t, err)
	require.Less(t, time.Since(began), 4*time.Second+500*time.Millisecond, "the query must end by the client's deadline")
	var de *serviceerror.DeadlineExceeded
	if errors.As(err, &de) {
		require.True(t, strings.Contains(err.Error(), "worker"), "the error should say no worker answered: %v", err)
	} else {
		require.ErrorContains(t, err, "deadline")
	}
}

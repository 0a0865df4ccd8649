package tests

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestQueryRightAfterSignalSeesIt: a query sent right after a signal is
// answered only once the workflow task that delivers the signal has
// completed, so it always sees the signal (the reference server holds a
// query while a workflow task is scheduled or started). Without that the
// query went straight to the sticky worker and could miss the signal.
func TestQueryRightAfterSignalSeesIt(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(queryable, workflow.RegisterOptions{Name: "Queryable"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "Queryable")
	require.NoError(t, err)
	// Wait for the first workflow task so the worker holds the run (sticky).
	eventually(t, ctx, "the first query", func() error {
		_, err := queryString(t, env.client, run.GetID(), "state", "")
		return err
	})
	const rounds = 20
	for i := 1; i <= rounds; i++ {
		require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "sig", nil))
		got, err := queryString(t, env.client, run.GetID(), "state", "n=")
		require.NoError(t, err, "query after signal %d", i)
		require.Equal(t, fmt.Sprintf("n=%d", i), got, "query right after signal %d must see it", i)
	}
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, fmt.Sprint(rounds), out)
}

// bigAnswer waits for "done"; its "big" query answers a string of the
// requested size.
func bigAnswer(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, "big", func(size int) (string, error) {
		return strings.Repeat("x", size), nil
	}); err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "done").Receive(ctx, nil)
	return nil
}

// TestQueryAnswerOverBlobLimit: an answer over limit.blobSize (2 MiB)
// fails the query for its caller with QueryFailed "Blob data size exceeds
// limit." (InvalidArgument), as the reference server does, instead of
// leaving the caller waiting until its deadline.
func TestQueryAnswerOverBlobLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 2*time.Minute)
	// The SDK checks answers against the namespace's blob limit itself;
	// switch that off so the answer reaches the server.
	tq := uniqueName(t, "tq")
	w := worker.New(env.client, tq, worker.Options{DisablePayloadErrorLimit: true})
	w.RegisterWorkflowWithOptions(bigAnswer, workflow.RegisterOptions{Name: "BigAnswer"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), "BigAnswer")
	require.NoError(t, err)
	eventually(t, ctx, "a small answer", func() error {
		_, err := queryString(t, env.client, run.GetID(), "big", 10)
		return err
	})

	// The caller's deadline is far away: a server that drops the answer
	// makes this call end with DeadlineExceeded, not QueryFailed.
	qctx := testContext(t, 60*time.Second)
	_, err = env.client.QueryWorkflow(qctx, run.GetID(), "", "big", 3<<20)
	var qf *serviceerror.QueryFailed
	require.True(t, errors.As(err, &qf), "an answer over the blob limit must give QueryFailed, got %T %v", err, err)
	require.Equal(t, "Blob data size exceeds limit.", qf.Message)

	// The run is unaffected: a small query still works.
	got, err := queryString(t, env.client, run.GetID(), "big", 3)
	require.NoError(t, err)
	require.Equal(t, "xxx", got)
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "done", nil))
	require.NoError(t, run.Get(ctx, nil))
}

package tests

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// counterResult is what scheduleCounter returns: its count and the last
// error its schedule handed it.
type counterResult struct {
	N       int
	LastErr string
}

// scheduleCounter counts its schedule's completed actions through
// GetLastCompletionResult, reports GetLastError, and fails when the count
// reaches failAt with no failure before it.
func scheduleCounter(ctx workflow.Context, failAt int) (counterResult, error) {
	var last counterResult
	if workflow.HasLastCompletionResult(ctx) {
		if err := workflow.GetLastCompletionResult(ctx, &last); err != nil {
			return last, err
		}
	}
	out := counterResult{N: last.N + 1}
	if err := workflow.GetLastError(ctx); err != nil {
		out.LastErr = err.Error()
	}
	if out.N == failAt && out.LastErr == "" {
		return out, temporal.NewNonRetryableApplicationError("counter boom", "test", nil)
	}
	return out, nil
}

// TestScheduleLastCompletionResult: each action of a schedule sees the
// result of the last action that completed and the failure of the last
// one that failed since, also after a server restart (SIGKILL): the
// counter goes 1, 2, (restart) 3, fails at 4, and the next action counts
// from 3 again and sees the failure.
func TestScheduleLastCompletionResult(t *testing.T) {
	t.Parallel()
	bin := buildSundial(t)
	dbFile := filepath.Join(t.TempDir(), "sundial.db")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx := testContext(t, 3*time.Minute)
	out := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	p := startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c := dialWhenUp(t, ctx, addr, p)
	defer c.Close()
	tq := uniqueName(t, "tq")
	startCounterWorker := func(c client.Client) worker.Worker {
		w := worker.New(c, tq, worker.Options{})
		w.RegisterWorkflow(scheduleCounter)
		require.NoError(t, w.Start())
		return w
	}
	w := startCounterWorker(c)

	// Actions are triggered one at a time; the spec never fires.
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     "counter",
		Spec:   client.ScheduleSpec{CronExpressions: []string{"0 0 1 1 * 2099"}},
		Action: &client.ScheduleWorkflowAction{ID: "counter-wf", Workflow: scheduleCounter, Args: []any{4}, TaskQueue: tq},
	})
	require.NoError(t, err)
	act := func(c client.Client, h client.ScheduleHandle, n int) (counterResult, error) {
		t.Helper()
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		d := waitFor(t, ctx, h, fmt.Sprintf("action %d", n), func(d *client.ScheduleDescription) error {
			if d.Info.NumActions < n {
				return fmt.Errorf("%d actions", d.Info.NumActions)
			}
			return nil
		})
		last := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult
		var res counterResult
		err := c.GetWorkflow(ctx, last.WorkflowID, last.FirstExecutionRunID).Get(ctx, &res)
		return res, err
	}
	for n := 1; n <= 2; n++ {
		res, err := act(c, h, n)
		require.NoError(t, err)
		require.Equal(t, counterResult{N: n}, res)
	}

	// The last completion result lives in the schedule's row.
	w.Stop()
	c.Close()
	p.kill()
	p = startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c = dialWhenUp(t, ctx, addr, p)
	defer c.Close()
	w = startCounterWorker(c)
	defer w.Stop()
	h = c.ScheduleClient().GetHandle(ctx, "counter")

	res, err := act(c, h, 3)
	require.NoError(t, err)
	require.Equal(t, counterResult{N: 3}, res, "the count goes on after the restart")
	_, err = act(c, h, 4)
	require.ErrorContains(t, err, "counter boom", "the fourth action fails")
	res, err = act(c, h, 5)
	require.NoError(t, err)
	require.Equal(t, 4, res.N, "a failure keeps the last completion result")
	require.Contains(t, res.LastErr, "counter boom", "the next action sees the failure")
	res, err = act(c, h, 6)
	require.NoError(t, err)
	require.Equal(t, counterResult{N: 5}, res, "a completion clears the failure")
}

package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// scheduledRuns lists every run started by schedules whose ID starts with
// prefix, as workflow ID -> number of runs with that ID.
func scheduledRuns(ctx context.Context, c client.Client, prefix string) (map[string]int, error) {
	out := map[string]int{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace,
			Query: fmt.Sprintf("TemporalScheduledById STARTS_WITH '%s'", prefix), PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.Executions {
			out[e.Execution.WorkflowId]++
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// actionTime parses the scheduled time out of an action's workflow ID.
func actionTime(t *testing.T, workflowID string) time.Time {
	t.Helper()
	i := strings.LastIndex(workflowID, "-20")
	require.Positive(t, i, workflowID)
	ts, err := time.Parse(time.RFC3339, workflowID[i+1:])
	require.NoError(t, err, workflowID)
	return ts
}

// TestScheduleCatchupAfterRestart: while the server is down (SIGKILL),
// a schedule firing every second misses its times; after the restart
// the ones within the 10 s catch-up window run once and older ones are
// skipped, counted as missed.
func TestScheduleCatchupAfterRestart(t *testing.T) {
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
	h, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: "catchup", Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}}},
		Action:        &client.ScheduleWorkflowAction{ID: "cu", Workflow: scheduleQuick, TaskQueue: "no-worker"},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		CatchupWindow: 10 * time.Second,
	})
	require.NoError(t, err)
	waitFor(t, ctx, h, "actions before the crash", func(d *client.ScheduleDescription) error {
		if d.Info.NumActions < 3 {
			return fmt.Errorf("%d actions", d.Info.NumActions)
		}
		return nil
	})
	c.Close()
	p.kill()
	// The outage is the scenario itself: 25 s, well beyond the window.
	downtime := time.NewTimer(25 * time.Second)
	select {
	case <-downtime.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	p = startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c = dialWhenUp(t, ctx, addr, p)
	defer c.Close()
	h = c.ScheduleClient().GetHandle(ctx, "catchup")
	d := waitFor(t, ctx, h, "missed actions counted and new ones running", func(d *client.ScheduleDescription) error {
		if d.Info.NumActionsMissedCatchupWindow == 0 || d.Info.NumActions < 20 {
			return fmt.Errorf("%d missed, %d actions", d.Info.NumActionsMissedCatchupWindow, d.Info.NumActions)
		}
		return nil
	})
	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{}))
	d = describeSchedule(t, ctx, h)

	var runs map[string]int
	eventually(t, ctx, "every action listed", func() error {
		var err error
		if runs, err = scheduledRuns(ctx, c, "catchup"); err != nil {
			return err
		}
		if len(runs) != d.Info.NumActions {
			return fmt.Errorf("%d listed, %d actions", len(runs), d.Info.NumActions)
		}
		return nil
	})
	var times []time.Time
	for id, n := range runs {
		require.Equal(t, 1, n, "%s ran more than once", id)
		times = append(times, actionTime(t, id))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	// Exactly one gap, of the missed times: within the window every
	// second ran (once), outside it none did.
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		if step := times[i].Sub(times[i-1]); step != time.Second {
			gaps = append(gaps, step)
		}
	}
	require.Len(t, gaps, 1, "times %v", times)
	require.Equal(t, time.Duration(d.Info.NumActionsMissedCatchupWindow+1)*time.Second, gaps[0])
	require.GreaterOrEqual(t, gaps[0], 10*time.Second, "a 25 s outage with a 10 s window misses over 10 s")
}

// TestScheduleCrashSafety: 200 schedules fire every second for 30 s and
// the server is SIGKILLed in the middle and restarted at once; every
// scheduled time runs exactly once (checked by workflow IDs).
func TestScheduleCrashSafety(t *testing.T) {
	t.Parallel()
	const schedules, seconds = 200, 30
	bin := buildSundial(t)
	dbFile := filepath.Join(t.TempDir(), "sundial.db")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx := testContext(t, 5*time.Minute)
	out := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	p := startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c := dialWhenUp(t, ctx, addr, p)

	start := time.Now().Add(15 * time.Second).Truncate(time.Second)
	end := start.Add((seconds - 1) * time.Second)
	for i := range schedules {
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: fmt.Sprintf("crash-%03d", i),
			Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Second}},
				StartAt: start, EndAt: end},
			Action:        &client.ScheduleWorkflowAction{ID: fmt.Sprintf("cs%03d", i), Workflow: scheduleQuick, TaskQueue: "no-worker"},
			Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
			CatchupWindow: 5 * time.Minute,
		})
		require.NoError(t, err)
	}
	require.True(t, time.Now().Before(start), "creating the schedules took too long for the scenario")
	// Kill in the middle of the firing period.
	mid := time.NewTimer(time.Until(start.Add(seconds / 2 * time.Second)))
	select {
	case <-mid.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	c.Close()
	p.kill()
	p = startServerProcess(t, bin, dbFile, port, out)
	t.Cleanup(func() { p.kill() })
	c = dialWhenUp(t, ctx, addr, p)
	defer c.Close()

	var runs map[string]int
	eventually(t, ctx, "every scheduled time ran", func() error {
		var err error
		if runs, err = scheduledRuns(ctx, c, "crash-"); err != nil {
			return err
		}
		if len(runs) < schedules*seconds {
			return fmt.Errorf("%d of %d", len(runs), schedules*seconds)
		}
		return nil
	})
	require.Len(t, runs, schedules*seconds)
	for i := range schedules {
		for s := range seconds {
			id := fmt.Sprintf("cs%03d-%s", i, start.Add(time.Duration(s)*time.Second).UTC().Format(time.RFC3339))
			require.Equal(t, 1, runs[id], "%s runs", id)
		}
	}
	d := describeSchedule(t, ctx, c.ScheduleClient().GetHandle(ctx, "crash-000"))
	require.Equal(t, seconds, d.Info.NumActions)
	require.Zero(t, d.Info.NumActionsMissedCatchupWindow)
}

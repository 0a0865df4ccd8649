package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCLISchedule drives `temporal schedule create|list|describe|toggle|
// trigger|backfill|update|delete` against a server with a worker running
// the action's workflow.
func TestCLISchedule(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerScheduleWorkflows)

	cli.ok(t, "schedule", "create", "-s", "cli-sched", "--interval", "1h/5m", "--workflow-id", "cli-sw",
		"--type", "scheduleQuick", "--task-queue", tq, "--notes", "first", "--overlap-policy", "AllowAll",
		"--schedule-memo", `team="ops"`, "--catchup-window", "1m")
	cli.fails(t, "schedule with this ID is already registered", "schedule", "create", "-s", "cli-sched",
		"--interval", "1h", "--workflow-id", "cli-sw", "--type", "scheduleQuick", "--task-queue", tq)

	d := cli.json(t, "schedule", "describe", "-s", "cli-sched")
	require.Equal(t, "3600s", jget(d, "schedule.spec.interval.0.interval"), "%v", d)
	require.Equal(t, "300s", jget(d, "schedule.spec.interval.0.phase"), "%v", d)
	require.Equal(t, "first", jget(d, "schedule.state.notes"))
	require.Equal(t, "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL", jget(d, "schedule.policies.overlapPolicy"))
	require.Equal(t, "60s", jget(d, "schedule.policies.catchupWindow"))
	require.Equal(t, "scheduleQuick", jget(d, "schedule.action.startWorkflow.workflowType.name"))
	require.Equal(t, tq, jget(d, "schedule.action.startWorkflow.taskQueue.name"))
	require.NotNil(t, jget(d, "memo.fields.team"), "%v", d)
	require.Len(t, jget(d, "info.futureActionTimes"), 10)
	next, err := time.Parse(time.RFC3339, jget(d, "info.futureActionTimes.0").(string))
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, next.Sub(next.Truncate(time.Hour)), "phase 5m: %v", next)
	require.NotEmpty(t, jget(d, "conflictToken"))

	text := cli.ok(t, "schedule", "describe", "-s", "cli-sched").stdout
	require.Regexp(t, `ScheduleId\s+cli-sched`, text)
	require.Regexp(t, `OverlapPolicy\s+AllowAll`, text)
	require.Regexp(t, `CatchupWindow\s+1m`, text)
	require.Regexp(t, `Notes\s+first`, text)
	require.Regexp(t, `Paused\s+false`, text)

	// Listing reads the scheduler's own rows: no visibility lag.
	l := cli.jsonList(t, "schedule", "list")
	require.Len(t, l, 1)
	require.Equal(t, "cli-sched", l[0]["scheduleId"])
	require.Equal(t, "scheduleQuick", jget(l[0], "info.workflowType.name"))
	require.Equal(t, "first", jget(l[0], "info.notes"))
	require.Len(t, jget(l[0], "info.futureActionTimes"), 5, "%v", l[0])
	require.Regexp(t, `(?m)^\s*ScheduleId\s+Action\s+Paused\s+NextRunTime\s+LastRunTime\s*\n\s*cli-sched\s+\{"Workflow":"scheduleQuick"\}\s+false\s+(\d+|an?) (seconds?|minutes?|hour) from now\b.*$`,
		cli.ok(t, "schedule", "list").stdout)
	require.Regexp(t, `cli-sched\s+\{"Workflow":"scheduleQuick"\}.*first`, cli.ok(t, "schedule", "list", "--long").stdout)

	cli.ok(t, "schedule", "toggle", "-s", "cli-sched", "--pause", "--reason", "hold on")
	d = cli.json(t, "schedule", "describe", "-s", "cli-sched")
	require.Equal(t, true, jget(d, "schedule.state.paused"))
	require.Equal(t, "hold on", jget(d, "schedule.state.notes"))
	require.Regexp(t, `cli-sched\s+\S+\s+true`, cli.ok(t, "schedule", "list").stdout)
	cli.fails(t, "exactly one of --pause or --unpause is required", "schedule", "toggle", "-s", "cli-sched")

	// Trigger runs one action even while paused.
	require.Equal(t, "Trigger request sent\n", cli.ok(t, "schedule", "trigger", "-s", "cli-sched").stdout)
	d = waitCLISchedule(t, cli, "cli-sched", "the triggered action to complete", func(d map[string]any) error {
		if jget(d, "info.actionCount") != "1" || jget(d, "info.recentActions.0.startWorkflowStatus") != "WORKFLOW_EXECUTION_STATUS_COMPLETED" {
			return fmt.Errorf("info %v", d["info"])
		}
		return nil
	})
	wfID := jget(d, "info.recentActions.0.startWorkflowResult.workflowId").(string)
	require.Regexp(t, `^cli-sw-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, wfID)
	require.Equal(t, "ok", cli.result(t, wfID)["result"])

	cli.ok(t, "schedule", "toggle", "-s", "cli-sched", "--unpause", "--reason", "go")
	d = cli.json(t, "schedule", "describe", "-s", "cli-sched")
	require.Nil(t, jget(d, "schedule.state.paused"))
	require.Equal(t, "go", jget(d, "schedule.state.notes"))

	// Backfill over three past hours: (start, end] holds three matches,
	// all run with allow-all (the CLI's default, skip, would skip the two
	// that overlap the first, as the reference does).
	end := time.Now().UTC().Truncate(time.Hour).Add(-24*time.Hour + 5*time.Minute)
	require.Equal(t, "Backfill request sent\n", cli.ok(t, "schedule", "backfill", "-s", "cli-sched",
		"--start-time", end.Add(-3*time.Hour).Format(time.RFC3339), "--end-time", end.Format(time.RFC3339),
		"--overlap-policy", "AllowAll").stdout)
	d = waitCLISchedule(t, cli, "cli-sched", "four actions, none running", func(d map[string]any) error {
		if jget(d, "info.actionCount") != "4" || jget(d, "info.runningWorkflows") != nil {
			return fmt.Errorf("info %v", d["info"])
		}
		return nil
	})
	for i, back := range []time.Duration{2 * time.Hour, time.Hour, 0} {
		require.Equal(t, end.Add(-back).Format(time.RFC3339), jget(d, fmt.Sprintf("info.recentActions.%d.scheduleTime", i+1)))
		require.Equal(t, "cli-sw-"+end.Add(-back).Format(time.RFC3339),
			jget(d, fmt.Sprintf("info.recentActions.%d.startWorkflowResult.workflowId", i+1)))
	}
	require.Regexp(t, `ActionCounts\s+\{"Total":4,"MissedCatchupWindow":0,"SkippedOverlap":0\}`, cli.ok(t, "schedule", "describe", "-s", "cli-sched").stdout)

	// Update replaces the whole schedule: spec, action and notes.
	cli.ok(t, "schedule", "update", "-s", "cli-sched", "--cron", "30 12 * * Fri", "--time-zone", "America/New_York",
		"--workflow-id", "cli-sw2", "--type", "scheduleSlow", "--task-queue", tq, "--notes", "updated")
	d = cli.json(t, "schedule", "describe", "-s", "cli-sched")
	require.Nil(t, jget(d, "schedule.spec.interval"), "%v", d)
	require.Equal(t, "America/New_York", jget(d, "schedule.spec.timezoneName"))
	require.NotNil(t, jget(d, "schedule.spec.structuredCalendar.0"), "%v", d)
	require.Equal(t, "cli-sw2", jget(d, "schedule.action.startWorkflow.workflowId"))
	require.Equal(t, "scheduleSlow", jget(d, "schedule.action.startWorkflow.workflowType.name"))
	require.Equal(t, "updated", jget(d, "schedule.state.notes"))
	require.Equal(t, "SCHEDULE_OVERLAP_POLICY_SKIP", jget(d, "schedule.policies.overlapPolicy"))
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	nextFri, err := time.Parse(time.RFC3339, jget(d, "info.futureActionTimes.0").(string))
	require.NoError(t, err)
	nextFri = nextFri.In(ny)
	require.Equal(t, []any{time.Friday, 12, 30}, []any{nextFri.Weekday(), nextFri.Hour(), nextFri.Minute()}, "%v", nextFri)
	require.Equal(t, "4", jget(d, "info.actionCount"), "update keeps the counts")

	require.Equal(t, "Schedule deleted\n", cli.ok(t, "schedule", "delete", "-s", "cli-sched").stdout)
	cli.fails(t, "schedule not found", "schedule", "describe", "-s", "cli-sched")
	cli.fails(t, "schedule not found", "schedule", "delete", "-s", "cli-sched")
	require.Empty(t, cli.jsonList(t, "schedule", "list"))
}

// waitCLISchedule describes schedule id with the CLI until cond holds.
func waitCLISchedule(t *testing.T, cli *cliRunner, id, what string, cond func(map[string]any) error) map[string]any {
	t.Helper()
	var last map[string]any
	eventually(t, testContext(t, time.Minute), what, func() error {
		last = cli.json(t, "schedule", "describe", "-s", id)
		return cond(last)
	})
	return last
}

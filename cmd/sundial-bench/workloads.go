package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow and activity type names. "ExecuteActivity" with "Echo" is the
// seeds' benchmark workload the reference server was measured with.
const (
	wfActivities = "ExecuteActivity"
	wfSignals    = "ReceiveSignals"
	wfTimers     = "SequentialTimers"
	wfChildren   = "StartChildren"
	wfChild      = "Child"
	wfIdle       = "WaitForSignal"
	actEcho      = "Echo"

	signalName = "bench-signal"
	// timerLength is the length of each timer of the timers workload.
	timerLength = 100 * time.Millisecond
)

// idleStarted counts idle workflows whose first workflow task ran (not
// replays), so the idle runner knows when every run is settled.
var idleStarted atomic.Int64

func register(w worker.Registry) {
	w.RegisterWorkflowWithOptions(activitiesWorkflow, workflow.RegisterOptions{Name: wfActivities})
	w.RegisterWorkflowWithOptions(signalsWorkflow, workflow.RegisterOptions{Name: wfSignals})
	w.RegisterWorkflowWithOptions(timersWorkflow, workflow.RegisterOptions{Name: wfTimers})
	w.RegisterWorkflowWithOptions(childrenWorkflow, workflow.RegisterOptions{Name: wfChildren})
	w.RegisterWorkflowWithOptions(childWorkflow, workflow.RegisterOptions{Name: wfChild})
	w.RegisterWorkflowWithOptions(idleWorkflow, workflow.RegisterOptions{Name: wfIdle})
	w.RegisterActivityWithOptions(echo, activity.RegisterOptions{Name: actEcho})
}

func echo(_ context.Context, s string) (string, error) { return s, nil }

// activitiesWorkflow runs n sequential Echo activities.
func activitiesWorkflow(ctx workflow.Context, n int) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	for i := 0; i < n; i++ {
		if err := workflow.ExecuteActivity(ctx, actEcho, fmt.Sprintf("echo-%d", i)).Get(ctx, &out); err != nil {
			return "", err
		}
	}
	return out, nil
}

// signalsWorkflow returns after n signals.
func signalsWorkflow(ctx workflow.Context, n int) (int, error) {
	ch := workflow.GetSignalChannel(ctx, signalName)
	for i := 0; i < n; i++ {
		ch.Receive(ctx, nil)
	}
	return n, nil
}

// timersWorkflow sleeps n times for timerLength.
func timersWorkflow(ctx workflow.Context, n int) (int, error) {
	for i := 0; i < n; i++ {
		if err := workflow.Sleep(ctx, timerLength); err != nil {
			return i, err
		}
	}
	return n, nil
}

// childrenWorkflow starts n children at once and waits for all.
func childrenWorkflow(ctx workflow.Context, n int) (int, error) {
	futures := make([]workflow.ChildWorkflowFuture, n)
	for i := range futures {
		futures[i] = workflow.ExecuteChildWorkflow(ctx, wfChild, i)
	}
	sum := 0
	for _, f := range futures {
		var v int
		if err := f.Get(ctx, &v); err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

func childWorkflow(_ workflow.Context, i int) (int, error) { return i, nil }

// idleWorkflow stays open until it gets one signal.
func idleWorkflow(ctx workflow.Context) error {
	if !workflow.IsReplaying(ctx) {
		idleStarted.Add(1)
	}
	workflow.GetSignalChannel(ctx, signalName).Receive(ctx, nil)
	return nil
}

// driver runs one workflow of a workload to its end: start (timed), drive
// it (signals), and wait for its result.
type driver struct {
	c         client.Client
	workload  string
	count     int
	taskQueue string
	idPrefix  string
	seq       atomic.Int64
}

// outcome is one workflow's measurements.
type outcome struct {
	begin     time.Time     // before StartWorkflowExecution
	startTook time.Duration // StartWorkflowExecution latency
	started   bool          // StartWorkflowExecution succeeded
	end       time.Time     // result received (or failure)
	err       error
}

func (d *driver) workflowType() string {
	switch d.workload {
	case "signals":
		return wfSignals
	case "timers":
		return wfTimers
	case "children":
		return wfChildren
	case "idle":
		return wfIdle
	}
	return wfActivities
}

// start starts one workflow and times the call.
func (d *driver) start(ctx context.Context) (client.WorkflowRun, outcome) {
	id := fmt.Sprintf("%s-%d", d.idPrefix, d.seq.Add(1))
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: d.taskQueue}
	var args []any
	if d.workload != "idle" {
		args = append(args, d.count)
	}
	o := outcome{begin: time.Now()}
	run, err := d.c.ExecuteWorkflow(ctx, opts, d.workflowType(), args...)
	o.startTook = time.Since(o.begin)
	if err != nil {
		o.end, o.err = time.Now(), fmt.Errorf("start %s: %w", id, err)
		return nil, o
	}
	o.started = true
	return run, o
}

// runOne starts, drives and waits for one workflow.
func (d *driver) runOne(ctx context.Context) outcome {
	run, o := d.start(ctx)
	if o.err != nil {
		return o
	}
	if d.workload == "signals" {
		for i := 0; i < d.count; i++ {
			if err := d.c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), signalName, i); err != nil {
				o.end, o.err = time.Now(), fmt.Errorf("signal %s: %w", run.GetID(), err)
				return o
			}
		}
	}
	err := run.Get(ctx, nil)
	o.end = time.Now()
	if err != nil {
		o.err = fmt.Errorf("workflow %s: %w", run.GetID(), err)
	}
	return o
}

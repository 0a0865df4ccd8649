package tests

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// clusterLoadWorkflow sleeps, waits for the "go" signal, runs Double(n)
// and returns its result: a timer, a signal and an activity per run.
func clusterLoadWorkflow(ctx workflow.Context, n int, sleep time.Duration) (int, error) {
	if err := workflow.Sleep(ctx, sleep); err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
	var out int
	err := workflow.ExecuteActivity(ctx, "Double", n).Get(ctx, &out)
	return out, err
}

// clusterRole is one process of the seven-process cluster tests.
type clusterRole struct {
	name, services string
	history        int // internal ports of the roles it runs (0: none)
	matching       int
	port           int // public gRPC port (frontend)
	admin          int
	env            []string
	proc           *clusterProcess
}

// sevenProcesses is 2 frontend, 2 history, 2 matching and 1 worker
// process of one cluster on PostgreSQL, on loopback.
type sevenProcesses struct {
	clusterLoad
	bin     string
	cfgFile string
	roles   []*clusterRole
	byName  map[string]*clusterRole
}

// clusterLoad drives the cluster tests' workload through two clients (one
// per frontend; the same twice when there is one).
type clusterLoad struct {
	t      *testing.T
	c1, c2 client.Client
}

// startSevenProcesses starts the cluster and dials both frontends.
func startSevenProcesses(t *testing.T, ctx context.Context) *sevenProcesses {
	opts := sqltest.Postgres.NewDatabase(t)
	cl := &sevenProcesses{clusterLoad: clusterLoad{t: t}, bin: buildSundial(t), cfgFile: filepath.Join(t.TempDir(), "sundial.yaml"),
		byName: map[string]*clusterRole{}}
	require.NoError(t, os.WriteFile(cl.cfgFile, []byte(clusterConfig), 0o600))
	cl.roles = []*clusterRole{
		{name: "history1", services: "history"},
		{name: "history2", services: "history"},
		{name: "matching1", services: "matching"},
		{name: "matching2", services: "matching"},
		{name: "frontend1", services: "frontend"},
		{name: "frontend2", services: "frontend"},
		{name: "worker", services: "worker"},
	}
	for _, r := range cl.roles {
		cl.byName[r.name] = r
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range cl.roles {
				if r.proc != nil {
					t.Logf("process %s output:\n%s", r.name, r.proc.out.String())
				}
			}
		}
	})
	// The same config everywhere; a process that does not run history or
	// matching still names a port for them (it joins the cluster through
	// them), and never listens on it. Each process's ports are picked just
	// before it starts (outgoing connections take ephemeral ports too).
	placeholder := 0
	for i, r := range cl.roles {
		r.admin, r.port = freePort(t), freePort(t)
		switch r.services {
		case "history":
			r.history = freePort(t)
		case "matching":
			r.matching = freePort(t)
		}
		if i == 0 {
			placeholder = r.history
		}
		hp, mp := cmp.Or(r.history, placeholder), cmp.Or(r.matching, placeholder)
		r.env = []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
			"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password,
			"SUNDIAL_HISTORY_PORT=" + strconv.Itoa(hp), "SUNDIAL_MATCHING_PORT=" + strconv.Itoa(mp)}
		cl.start(r)
		// history1 creates the schema; the others start on it.
		cl.waitUp(ctx, r)
	}
	cl.c1 = dialWhenUp(t, ctx, cl.byName["frontend1"].proc.srv.addr, cl.byName["frontend1"].proc.srv.proc)
	t.Cleanup(cl.c1.Close)
	cl.c2 = dialWhenUp(t, ctx, cl.byName["frontend2"].proc.srv.addr, cl.byName["frontend2"].proc.srv.proc)
	t.Cleanup(cl.c2.Close)
	return cl
}

// start starts r's process (again) on its ports.
func (cl *sevenProcesses) start(r *clusterRole) {
	out := &lockedBuffer{}
	if r.proc != nil {
		// A restart: keep what the previous process wrote.
		_, _ = out.Write([]byte(r.proc.out.String() + "--- restarted ---\n"))
	}
	tokenFile := filepath.Join(cl.t.TempDir(), "admin.token")
	srv := startConfiguredServerOn(cl.t, cl.bin, cl.cfgFile, r.env, out, r.port, "--services", r.services,
		"--admin-port", strconv.Itoa(r.admin), "--log-level", "warn", "--admin-token-file", tokenFile)
	r.proc = &clusterProcess{name: r.name, srv: srv, out: out, admin: "127.0.0.1:" + strconv.Itoa(r.admin),
		tokenFile: tokenFile}
}

// waitUp waits until r's process listens: its internal port, else its
// public one, else its admin endpoint.
func (cl *sevenProcesses) waitUp(ctx context.Context, r *clusterRole) {
	port := r.history + r.matching
	switch {
	case port != 0:
	case r.services == "frontend":
		port = r.port
	default:
		port = r.admin
	}
	waitListening(cl.t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), r.proc.srv.proc)
}

// startWorkers starts one SDK worker through each frontend on tq.
func (cl *clusterLoad) startWorkers(tq string) {
	for _, c := range []client.Client{cl.c1, cl.c2} {
		w := worker.New(c, tq, worker.Options{})
		w.RegisterWorkflowWithOptions(clusterLoadWorkflow, workflow.RegisterOptions{Name: "ClusterLoad"})
		w.RegisterActivityWithOptions(doubleActivity, activity.RegisterOptions{Name: "Double"})
		require.NoError(cl.t, w.Start())
		cl.t.Cleanup(w.Stop)
	}
}

// runLoad runs workflow i of the load: started through one frontend,
// signalled and awaited through the other, retrying client calls answered
// with a retryable code (counted in retried); a call failing otherwise is
// the error returned.
func (cl *clusterLoad) runLoad(ctx context.Context, tq string, i int, retried *atomic.Int64) (client.WorkflowRun, error) {
	c, other := cl.c1, cl.c2
	if i%2 == 1 {
		c, other = other, c
	}
	callUntil := func(f func() error) error {
		for {
			err := f()
			if err == nil || ctx.Err() != nil || !retryableCode(err) {
				return err
			}
			retried.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	id := fmt.Sprintf("%s-%03d", tq, i)
	var run client.WorkflowRun
	err := callUntil(func() (err error) {
		// A start retried after an answer lost in a move finds its run.
		run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq,
			WorkflowTaskTimeout: 5 * time.Second, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
			"ClusterLoad", i, time.Duration(1+i%3)*time.Second)
		return err
	})
	if err == nil {
		err = callUntil(func() error { return other.SignalWorkflow(ctx, id, "", "go", nil) })
	}
	if err == nil {
		var out int
		err = callUntil(func() error { return other.GetWorkflow(ctx, id, "").Get(ctx, &out) })
		if err == nil && out != 2*i {
			err = fmt.Errorf("result %d, want %d", out, 2*i)
		}
	}
	return run, err
}

// checkLoadHistories checks every run's history: contiguous IDs, one
// close (completed), one timer fired, one signal, one
// ActivityTaskCompleted.
func (cl *clusterLoad) checkLoadHistories(ctx context.Context, runs []client.WorkflowRun) {
	t := cl.t
	check := make([]error, len(runs))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := cl.c1
			if i%2 == 1 {
				c = cl.c2
			}
			events, err := history(ctx, c, runs[i].GetID(), runs[i].GetRunID())
			if err != nil {
				check[i] = err
				return
			}
			if err := checkContiguousIDs(events); err != nil {
				check[i] = err
				return
			}
			closes := 0
			for _, ev := range events {
				switch ev.GetEventType() {
				case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
					enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
					enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
					closes++
				}
			}
			if last := events[len(events)-1].GetEventType(); closes != 1 || last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
				check[i] = fmt.Errorf("%d close events, last %v: %v", closes, last, eventTypes(events))
				return
			}
			for _, et := range []enumspb.EventType{enumspb.EVENT_TYPE_TIMER_FIRED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
				enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED} {
				if k := len(eventsOfType(events, et)); k != 1 {
					check[i] = fmt.Errorf("%d %v events, want 1: %v", k, et, eventTypes(events))
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range check {
		if err != nil {
			t.Errorf("workflow %d: %v", i, err)
		}
	}
}

// Issue 14, must-be-true 1: 2 frontend, 2 history, 2 matching and 1
// worker process on loopback against PostgreSQL run 500 workflows (timers,
// activities, signals) driven by the Go SDK through both frontends. One
// history and one matching process are SIGKILLed in the middle: every
// workflow completes, with exactly one close event, one timer fired, one
// signal and one ActivityTaskCompleted, and contiguous event IDs; the
// surviving history process takes every shard (the time is printed).
func TestClusterSurvivesKills(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	const shards, workflows = 16, 500
	cl := startSevenProcesses(t, ctx)
	byName, roles := cl.byName, cl.roles
	historyProcs := []*clusterProcess{byName["history1"].proc, byName["history2"].proc}
	took, owned := awaitOwnership(t, ctx, historyProcs, shards, "two history processes")
	t.Logf("2 history processes split the shards %v (%v)", owned, took.Round(time.Millisecond))

	tq := uniqueName(t, "tq")
	cl.startWorkers(tq)

	load := testContext(t, 90*time.Second)
	began := time.Now()
	runs := make([]client.WorkflowRun, workflows)
	var retried atomic.Int64 // client calls answered with a retryable code
	var wg sync.WaitGroup
	errs := make([]error, workflows)
	var done atomic.Int64
	killed := make(chan struct{})
	for i := range workflows {
		wg.Go(func() {
			runs[i], errs[i] = cl.runLoad(load, tq, i, &retried)
			if done.Add(1) == workflows/5 {
				close(killed)
			}
		})
	}

	// A fifth done: SIGKILL history2 and matching2.
	select {
	case <-killed:
	case <-load.Done():
		t.Fatalf("only %d workflows done before the deadline", done.Load())
	}
	killedAt := time.Now()
	for _, name := range []string{"history2", "matching2"} {
		p := byName[name].proc.srv.proc
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL), name)
		<-p.done
	}
	t.Logf("SIGKILLed history2 and matching2 after %v with %d of %d workflows done",
		killedAt.Sub(began).Round(time.Millisecond), done.Load(), workflows)
	took, owned = awaitOwnership(t, ctx, historyProcs[:1], shards, "after kill -9")
	t.Logf("shard ownership converged %.1f s after the kill: history1 owns %v", took.Seconds(), owned["history1"])
	wg.Wait()
	t.Logf("%d workflows done %v after the first start (%v after the kill); %d client calls retried",
		done.Load(), time.Since(began).Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond), retried.Load())
	for i, err := range errs {
		if err != nil {
			t.Errorf("workflow %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	cl.checkLoadHistories(ctx, runs)
	// The survivors and the worker process are still up.
	for _, r := range roles {
		if r.name == "history2" || r.name == "matching2" {
			continue
		}
		select {
		case <-r.proc.srv.proc.done:
			t.Errorf("%s exited: %v", r.name, r.proc.srv.proc.cmd.ProcessState)
		default:
		}
	}
}

// Issue 14, must-be-true 2: every process of the seven is restarted in
// turn with SIGTERM (a graceful leave) while workflows start at a steady
// rate through both frontends: no workflow fails and no client call fails
// except with a retryable code; histories are intact. The longest stall
// (the longest time without a workflow completing) is printed.
func TestClusterRollingRestart(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	const shards = 16
	cl := startSevenProcesses(t, ctx)
	historyProcs := func() []*clusterProcess {
		return []*clusterProcess{cl.byName["history1"].proc, cl.byName["history2"].proc}
	}
	awaitOwnership(t, ctx, historyProcs(), shards, "two history processes")
	tq := uniqueName(t, "tq")
	cl.startWorkers(tq)

	load := cl.startSteadyLoad(testContext(t, 120*time.Second), tq)
	completed, awaitProgress := load.completed, load.awaitProgress
	began := time.Now()
	awaitProgress(0, "before the restarts")
	for _, r := range cl.roles {
		before := completed()
		termAt := time.Now()
		p := r.proc.srv.proc
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM), r.name)
		select {
		case <-p.done:
		case <-ctx.Done():
			t.Fatalf("%s did not exit on SIGTERM", r.name)
		}
		require.True(t, p.cmd.ProcessState.Success(), "%s: %v", r.name, p.cmd.ProcessState)
		exited := time.Since(termAt)
		cl.start(r)
		cl.waitUp(ctx, r)
		if r.services == "history" {
			awaitOwnership(t, ctx, historyProcs(), shards, r.name+" restarted")
		}
		t.Logf("%s: exited %v after SIGTERM, serving again %v after it", r.name, exited.Round(time.Millisecond),
			time.Since(termAt).Round(time.Millisecond))
		awaitProgress(before, r.name+" restarted")
	}
	restarts := time.Since(began)
	runs, completions := load.finish(ctx)
	slices.SortFunc(completions, func(a, b time.Time) int { return a.Compare(b) })
	var stall time.Duration
	for i := 1; i < len(completions); i++ {
		stall = max(stall, completions[i].Sub(completions[i-1]))
	}
	t.Logf("%d workflows, all completed; every process restarted in %v; longest stall without a completion %v; "+
		"%d client calls answered retryable codes and were retried", len(runs), restarts.Round(time.Millisecond),
		stall.Round(time.Millisecond), load.retried.Load())
	cl.checkLoadHistories(ctx, runs)
}

// steadyLoad runs workflow i of the cluster load every 50 ms (runLoad,
// retrying calls answered with retryable codes) until finish.
type steadyLoad struct {
	cl          *clusterLoad
	ctx         context.Context
	tq          string
	mu          sync.Mutex
	runs        []client.WorkflowRun
	errs        []error
	completions []time.Time // when each completed run was seen done
	retried     atomic.Int64
	wg          sync.WaitGroup
	stop        chan struct{}
	generated   chan struct{}
}

// startSteadyLoad starts the load on tq; ctx bounds every run.
func (cl *clusterLoad) startSteadyLoad(ctx context.Context, tq string) *steadyLoad {
	l := &steadyLoad{cl: cl, ctx: ctx, tq: tq, stop: make(chan struct{}), generated: make(chan struct{})}
	go func() {
		defer close(l.generated)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l.mu.Lock()
			l.runs, l.errs = append(l.runs, nil), append(l.errs, nil)
			l.mu.Unlock()
			l.wg.Go(func() {
				run, err := cl.runLoad(ctx, tq, i, &l.retried)
				l.mu.Lock()
				defer l.mu.Unlock()
				l.runs[i], l.errs[i] = run, err
				if err == nil {
					l.completions = append(l.completions, time.Now())
				}
			})
		}
	}()
	return l
}

// completed is how many runs have completed so far.
func (l *steadyLoad) completed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.completions)
}

// awaitProgress waits until 40 more runs than after have completed, and
// fails the test if the load's deadline comes first.
func (l *steadyLoad) awaitProgress(after int, what string) {
	for l.completed() < after+40 {
		select {
		case <-l.ctx.Done():
			l.cl.t.Fatalf("%s: %d workflows completed, no progress", what, l.completed())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// finish stops starting runs, waits for the started ones and fails the
// test (with each failed run's history) unless every run completed. It
// returns the runs and their completion times.
func (l *steadyLoad) finish(ctx context.Context) ([]client.WorkflowRun, []time.Time) {
	t := l.cl.t
	close(l.stop)
	<-l.generated
	l.wg.Wait()
	for i, err := range l.errs {
		if err != nil {
			id := fmt.Sprintf("%s-%03d", l.tq, i)
			events, herr := history(ctx, l.cl.c1, id, "")
			var desc string
			if d, derr := l.cl.c1.DescribeWorkflowExecution(ctx, id, ""); derr == nil {
				desc = fmt.Sprintf("status %v, pending activities %v, pending workflow task %v", d.GetWorkflowExecutionInfo().GetStatus(),
					d.GetPendingActivities(), d.GetPendingWorkflowTask())
			}
			t.Errorf("workflow %d: %v; history %v (%v); %s", i, err, eventTypes(events), herr, desc)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return l.runs, l.completions
}

// retryableCode reports whether a client call failed with a code the SDK
// and Temporal clients treat as retryable (Unavailable, resource
// exhausted, deadline of one attempt).
func retryableCode(err error) bool {
	var unavailable *serviceerror.Unavailable
	var exhausted *serviceerror.ResourceExhausted
	var deadline *serviceerror.DeadlineExceeded
	return errors.As(err, &unavailable) || errors.As(err, &exhausted) || errors.As(err, &deadline)
}

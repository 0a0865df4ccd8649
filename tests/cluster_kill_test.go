package tests

import (
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

// clusterRole is one process of the cluster test.
type clusterRole struct {
	name, services string
	history        int // internal ports of the roles it runs (0: none)
	matching       int
	admin          int
	proc           *clusterProcess
}

// Issue 14, must-be-true 1: 2 frontend, 2 history, 2 matching and 1
// worker process on loopback against PostgreSQL run 500 workflows (timers,
// activities, signals) driven by the Go SDK through both frontends. One
// history and one matching process are SIGKILLed in the middle: every
// workflow completes, with exactly one close event, one timer fired, one
// signal and one ActivityTaskCompleted, and contiguous event IDs; the
// surviving history process takes every shard (the time is printed).
func TestClusterSurvivesKills(t *testing.T) {
	opts := sqltest.Postgres.NewDatabase(t)
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)
	cfgFile := filepath.Join(t.TempDir(), "sundial.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(clusterConfig), 0o600))
	const shards, workflows = 16, 500

	roles := []*clusterRole{
		{name: "history1", services: "history", history: freePort(t)},
		{name: "history2", services: "history", history: freePort(t)},
		{name: "matching1", services: "matching", matching: freePort(t)},
		{name: "matching2", services: "matching", matching: freePort(t)},
		{name: "frontend1", services: "frontend"},
		{name: "frontend2", services: "frontend"},
		{name: "worker", services: "worker"},
	}
	byName := map[string]*clusterRole{}
	for _, r := range roles {
		byName[r.name] = r
		r.admin = freePort(t)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range roles {
				if r.proc != nil {
					t.Logf("process %s output:\n%s", r.name, r.proc.out.String())
				}
			}
		}
	})
	// The same config everywhere; a process that does not run history or
	// matching still names their ports (it joins the cluster through
	// them), and never listens on them.
	for i, r := range roles {
		hp, mp := r.history, r.matching
		if hp == 0 {
			hp = roles[0].history
		}
		if mp == 0 {
			mp = byName["matching1"].matching
		}
		env := []string{"SUNDIAL_DB=" + opts.Database, "SUNDIAL_DB_ADDR=" + opts.Addr,
			"SUNDIAL_DB_USER=" + opts.User, "SUNDIAL_DB_PASSWORD=" + opts.Password,
			"SUNDIAL_HISTORY_PORT=" + strconv.Itoa(hp), "SUNDIAL_MATCHING_PORT=" + strconv.Itoa(mp)}
		out := &lockedBuffer{}
		srv := startConfiguredServer(t, bin, cfgFile, env, out, "--services", r.services,
			"--admin-port", strconv.Itoa(r.admin), "--log-level", "warn")
		r.proc = &clusterProcess{name: r.name, srv: srv, out: out, admin: "127.0.0.1:" + strconv.Itoa(r.admin)}
		if i == 0 {
			// history1 creates the schema; the others start on it.
			waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(r.history)), srv.proc)
		}
	}
	for _, r := range roles[1:4] {
		port := r.history + r.matching
		waitListening(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), r.proc.srv.proc)
	}
	c1 := dialWhenUp(t, ctx, byName["frontend1"].proc.srv.addr, byName["frontend1"].proc.srv.proc)
	t.Cleanup(c1.Close)
	c2 := dialWhenUp(t, ctx, byName["frontend2"].proc.srv.addr, byName["frontend2"].proc.srv.proc)
	t.Cleanup(c2.Close)
	historyProcs := []*clusterProcess{byName["history1"].proc, byName["history2"].proc}
	took, owned := awaitOwnership(t, ctx, historyProcs, shards, "two history processes")
	t.Logf("2 history processes split the shards %v (%v)", owned, took.Round(time.Millisecond))

	// One SDK worker through each frontend on the same task queue.
	tq := uniqueName(t, "tq")
	for _, c := range []client.Client{c1, c2} {
		w := worker.New(c, tq, worker.Options{})
		w.RegisterWorkflowWithOptions(clusterLoadWorkflow, workflow.RegisterOptions{Name: "ClusterLoad"})
		w.RegisterActivityWithOptions(doubleActivity, activity.RegisterOptions{Name: "Double"})
		require.NoError(t, w.Start())
		t.Cleanup(w.Stop)
	}

	load := testContext(t, 90*time.Second)
	began := time.Now()
	runs := make([]client.WorkflowRun, workflows)
	clients := []client.Client{c1, c2}
	var retried atomic.Int64 // client calls answered with a retryable code
	callUntil := func(f func() error) error {
		for {
			err := f()
			if err == nil || load.Err() != nil || !retryableCode(err) {
				return err
			}
			retried.Add(1)
			select {
			case <-load.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workflows)
	var done atomic.Int64
	killed := make(chan struct{})
	for i := range workflows {
		wg.Go(func() {
			c, other := clients[i%2], clients[(i+1)%2]
			id := fmt.Sprintf("%s-%03d", tq, i)
			err := callUntil(func() (err error) {
				// A start retried after an answer lost in a move finds
				// its run.
				runs[i], err = c.ExecuteWorkflow(load, client.StartWorkflowOptions{ID: id, TaskQueue: tq,
					WorkflowTaskTimeout: 5 * time.Second, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
					"ClusterLoad", i, time.Duration(1+i%3)*time.Second)
				return err
			})
			if err == nil {
				err = callUntil(func() error { return other.SignalWorkflow(load, id, "", "go", nil) })
			}
			if err == nil {
				var out int
				err = callUntil(func() error { return other.GetWorkflow(load, id, "").Get(load, &out) })
				if err == nil && out != 2*i {
					err = fmt.Errorf("result %d, want %d", out, 2*i)
				}
			}
			errs[i] = err
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

	// Every history: contiguous IDs, one close (completed), one timer
	// fired, one signal, one ActivityTaskCompleted.
	check := make([]error, workflows)
	sem := make(chan struct{}, 16)
	for i := range workflows {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := fmt.Sprintf("%s-%03d", tq, i)
			events, err := history(ctx, clients[i%2], id, runs[i].GetRunID())
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
	live := slices.DeleteFunc(slices.Clone(roles), func(r *clusterRole) bool { return r.name == "history2" || r.name == "matching2" })
	for _, r := range live {
		_ = r.proc.srv.proc.cmd.Process.Signal(syscall.SIGTERM)
	}
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

package tests

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
)

// buildSundial builds cmd/sundial into a directory removed when t ends.
// The test binary already compiled the same packages, so this is mostly a
// link from the build cache.
func buildSundial(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sundial")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sundialhq/sundial/cmd/sundial").CombinedOutput()
	require.NoError(t, err, "go build ./cmd/sundial:\n%s", out)
	return bin
}

// serverProcess is `sundial start-dev` running as a child process.
type serverProcess struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	done   chan struct{}
}

// startServerProcess starts the server; the caller must kill it.
func startServerProcess(t testing.TB, bin, dbFile string, port int, output *lockedBuffer) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--db-filename", dbFile,
		"--log-level", "warn",
		"--headless",
	)
	cmd.Stdout = output
	cmd.Stderr = output
	require.NoError(t, cmd.Start())
	p := &serverProcess{cmd: cmd, output: output, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p
}

// kill sends SIGKILL and waits for the process to exit.
func (p *serverProcess) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// dialWhenUp dials addr until the server answers, for at most ctx. The
// caller closes the client.
func dialWhenUp(t testing.TB, ctx context.Context, addr string, p *serverProcess) client.Client {
	t.Helper()
	return dialWhenUpVia(t, ctx, addr, p, nil)
}

// dialWhenUpVia is dialWhenUp with the connections made by dial (nil: the
// default dialer).
func dialWhenUpVia(t testing.TB, ctx context.Context, addr string, p *serverProcess,
	dial func(ctx context.Context, network, addr string) (net.Conn, error)) client.Client {
	t.Helper()
	var conn client.ConnectionOptions
	if dial != nil {
		conn.DialOptions = []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, "tcp", addr)
		})}
	}
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(dctx, client.Options{
			HostPort:          addr,
			Namespace:         testNamespace,
			Logger:            quietSDKLogger(),
			ConnectionOptions: conn,
		})
		cancel()
		if err == nil {
			return c
		}
		select {
		case <-p.done:
			t.Fatalf("server exited before serving: %v\n%s", p.cmd.ProcessState, p.output.String())
		case <-ctx.Done():
			t.Fatalf("server at %s never answered: %v\n%s", addr, err, p.output.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitUntilServing waits until a fresh connection to addr succeeds.
func waitUntilServing(t *testing.T, ctx context.Context, addr string, p *serverProcess) {
	t.Helper()
	dialWhenUp(t, ctx, addr, p).Close()
}

// 200 workflows are in flight when the server is SIGKILLed; after a
// restart on the same database file every one completes exactly once.
func TestDurabilityAcrossKill(t *testing.T) {
	bin := buildSundial(t)
	ctx := testContext(t, 3*time.Minute)

	// Cleanups run in reverse: stop the worker, close the client, kill the
	// servers, then print their output if the test failed.
	output := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server output:\n%s", output.String())
		}
	})
	var procs []*serverProcess
	t.Cleanup(func() {
		for _, p := range procs {
			p.kill()
		}
	})
	dbFile := filepath.Join(t.TempDir(), "sundial.db")
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	first := startServerProcess(t, bin, dbFile, port, output)
	procs = append(procs, first)
	c := dialWhenUp(t, ctx, addr, first)
	t.Cleanup(c.Close)

	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflowWithOptions(timerThenActivityWorkflow, workflow.RegisterOptions{Name: "TimerThenActivity"})
	w.RegisterActivityWithOptions(doubleActivity, activity.RegisterOptions{Name: "Double"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	const n = 200
	startedAt := time.Now()
	runs := make([]client.WorkflowRun, n)
	startErrs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i], startErrs[i] = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:        fmt.Sprintf("%s-wf-%03d", tq, i),
				TaskQueue: tq,
			}, "TimerThenActivity", i, 3*time.Second)
		}()
	}
	wg.Wait()
	for i, err := range startErrs {
		require.NoError(t, err, "start workflow %d", i)
	}

	t.Logf("started %d workflows in %v", n, time.Since(startedAt))

	time.Sleep(time.Second)
	killedAt := time.Now()
	first.kill()

	second := startServerProcess(t, bin, dbFile, port, output)
	procs = append(procs, second)
	waitUntilServing(t, ctx, addr, second)

	resultErrs := make([]error, n)
	closedAt := make([]time.Time, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			closedAt[i], resultErrs[i] = checkDurableRun(ctx, c, runs[i], i)
		}()
	}
	wg.Wait()
	failures := 0
	for i, err := range resultErrs {
		if err != nil {
			failures++
			if failures <= 10 {
				t.Errorf("workflow %d: %v", i, err)
			}
		}
	}
	require.Zero(t, failures, "%d of %d workflows did not complete exactly once", failures, n)

	// The kill must have caught workflows in flight, or it tested nothing.
	afterKill := 0
	for _, at := range closedAt {
		if at.After(killedAt) {
			afterKill++
		}
	}
	t.Logf("%d of %d workflows completed after the kill", afterKill, n)
	require.Positive(t, afterKill, "every workflow completed before the kill")

	select {
	case <-second.done:
		t.Fatalf("restarted server exited: %v", second.cmd.ProcessState)
	default:
	}
}

// checkDurableRun waits for run, checks its result and history, and
// returns the time of its close event.
func checkDurableRun(ctx context.Context, c client.Client, run client.WorkflowRun, i int) (time.Time, error) {
	var out int
	if err := run.Get(ctx, &out); err != nil {
		return time.Time{}, fmt.Errorf("get: %w", err)
	}
	if out != 2*i {
		return time.Time{}, fmt.Errorf("result %d, want %d", out, 2*i)
	}
	events, err := history(ctx, c, run.GetID(), run.GetRunID())
	if err != nil {
		return time.Time{}, fmt.Errorf("history: %w", err)
	}
	if err := checkContiguousIDs(events); err != nil {
		return time.Time{}, err
	}
	closes := 0
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			closes++
		}
	}
	last := events[len(events)-1]
	if closes != 1 || last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		return time.Time{}, fmt.Errorf("%d close events, last event %v: %v", closes, last.GetEventType(), eventTypes(events))
	}
	for _, et := range []enumspb.EventType{
		enumspb.EVENT_TYPE_TIMER_FIRED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
	} {
		if k := len(eventsOfType(events, et)); k != 1 {
			return time.Time{}, fmt.Errorf("%d %v events, want 1: %v", k, et, eventTypes(events))
		}
	}
	return last.GetEventTime().AsTime(), nil
}

package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// startServerWithLogger starts a server like newTestEnv but with the given
// logger and dynamic config, and returns its frontend address (no client).
func startServerWithLogger(t *testing.T, logger *slog.Logger, dynamic *config.Dynamic) string {
	t.Helper()
	store, dbFile := testBackend(t)
	s, err := server.New(server.Config{
		IP: "127.0.0.1", Port: 0, DBFilename: dbFile, Store: store, NumShards: 4,
		Namespaces: []string{testNamespace}, DynamicConfig: dynamic, Logger: logger,
	})
	require.NoError(t, err, "server.New")
	require.NoError(t, s.Start(), "server.Start")
	t.Cleanup(s.Stop)
	return s.FrontendAddr()
}

// compressionSeen records the compression of every response header a
// client receives.
type compressionSeen struct {
	mu   sync.Mutex
	seen []string
}

func (c *compressionSeen) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}
func (c *compressionSeen) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		c.mu.Lock()
		c.seen = append(c.seen, h.Compression)
		c.mu.Unlock()
	}
}
func (c *compressionSeen) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *compressionSeen) HandleConn(context.Context, stats.ConnStats) {}

func (c *compressionSeen) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// rawCodec sends []byte as the encoded message unchanged, so a test can
// send bytes the protobuf library would refuse to marshal; replies decode
// as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return proto.Marshal(v.(proto.Message))
}
func (rawCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }

// invokeRaw sends body as the request of a WorkflowService method.
func invokeRaw(ctx context.Context, conn *grpc.ClientConn, method string, body []byte, reply proto.Message) error {
	return conn.Invoke(ctx, "/temporal.api.workflowservice.v1.WorkflowService/"+method, body, reply, grpc.ForceCodec(rawCodec{}))
}

// A request that cannot be decoded is the caller's fault: InvalidArgument
// with a clear message, never Internal, and nothing is changed.
func TestUndecodableRequestIsInvalidArgument(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	markUnrecordedCallers(env.addr) // undecodable requests never reach the API
	conn, err := grpc.NewClient(env.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx := testContext(t, 60*time.Second)

	// Invalid UTF-8 in the workflow ID: patch the marshalled bytes.
	start := validStart(t)
	placeholder := strings.Repeat("Z", 8)
	start.WorkflowId = placeholder
	body, err := proto.Marshal(start)
	require.NoError(t, err)
	body = bytes.Replace(body, []byte(placeholder), []byte("\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc"), 1)
	err = invokeRaw(ctx, conn, "StartWorkflowExecution", body, &workflowservice.StartWorkflowExecutionResponse{})
	requireCode(t, codes.InvalidArgument, err, "invalid UTF-8")
	require.Contains(t, status.Convert(err).Message(), "could not be decoded")
	require.Contains(t, status.Convert(err).Message(), "UTF-8")

	// A failure whose cause chain is nested beyond protobuf's recursion
	// limit (10,000).
	deep := &failurepb.Failure{Message: "leaf"}
	for i := 0; i < 10_050; i++ {
		deep = &failurepb.Failure{Message: "wrap", Cause: deep}
	}
	body, err = proto.Marshal(&workflowservice.RespondActivityTaskFailedRequest{
		Namespace: testNamespace, TaskToken: []byte("token"), Failure: deep,
	})
	require.NoError(t, err)
	err = invokeRaw(ctx, conn, "RespondActivityTaskFailed", body, &workflowservice.RespondActivityTaskFailedResponse{})
	requireCode(t, codes.InvalidArgument, err, "deep nesting")
	require.Contains(t, status.Convert(err).Message(), "could not be decoded")

	// Truncated wire data.
	body, err = proto.Marshal(validStart(t))
	require.NoError(t, err)
	err = invokeRaw(ctx, conn, "StartWorkflowExecution", body[:len(body)-3], &workflowservice.StartWorkflowExecutionResponse{})
	requireCode(t, codes.InvalidArgument, err, "truncated request")

	// The server still answers well-formed requests on the same connection.
	_, err = workflowservice.NewWorkflowServiceClient(conn).GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err)
}

// logRecord is one captured log record with its attributes flattened.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// captureHandler is a slog.Handler that keeps every record (at debug and
// above) in memory.
type captureHandler struct {
	mu      *sync.Mutex
	records *[]logRecord
	with    []slog.Attr
}

func newCaptureHandler() *captureHandler {
	return &captureHandler{mu: &sync.Mutex{}, records: &[]logRecord{}}
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.with {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.with = append(append([]slog.Attr(nil), h.with...), attrs...)
	return &c
}
func (h *captureHandler) WithGroup(string) slog.Handler { return h }

// find returns the records with message msg whose attributes include want.
func (h *captureHandler) find(msg string, want map[string]string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.records {
		if r.msg != msg {
			continue
		}
		match := true
		for k, v := range want {
			if r.attrs[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, r)
		}
	}
	return out
}

// Every failed call is logged once: debug for answers to the caller's
// request, with method, namespace, code and message.
func TestFailedCallsAreLoggedOnce(t *testing.T) {
	t.Parallel()
	h := newCaptureHandler()
	addr := startServerWithLogger(t, slog.New(h), nil)
	svc := rawService(t, addr)
	ctx := testContext(t, 30*time.Second)

	wfID := uniqueName(t, "missing")
	_, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: testNamespace, Execution: &commonpb.WorkflowExecution{WorkflowId: wfID},
	})
	requireCode(t, codes.NotFound, err)
	recs := h.find("request failed", map[string]string{"method": "DescribeWorkflowExecution"})
	require.Len(t, recs, 1, "one record per failed call")
	require.Equal(t, slog.LevelDebug, recs[0].level)
	require.Equal(t, testNamespace, recs[0].attrs["namespace"])
	require.Equal(t, codes.NotFound.String(), recs[0].attrs["code"])
	require.Equal(t, status.Convert(err).Message(), recs[0].attrs["message"])

	// An undecodable request is logged the same way (it never reaches a
	// handler).
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	err = invokeRaw(ctx, conn, "GetWorkflowExecutionHistory", []byte{0x0a, 0x20, 'x'}, &workflowservice.GetWorkflowExecutionHistoryResponse{})
	requireCode(t, codes.InvalidArgument, err)
	recs = h.find("request failed", map[string]string{"method": "GetWorkflowExecutionHistory", "code": codes.InvalidArgument.String()})
	require.Len(t, recs, 1, "undecodable request logged once")
	require.Equal(t, slog.LevelDebug, recs[0].level)
}

// Dynamic-config keys Sundial does not read are named in one warning at
// start-up; keys it reads are not.
func TestUnknownDynamicConfigKeysWarned(t *testing.T) {
	t.Parallel()
	h := newCaptureHandler()
	startServerWithLogger(t, slog.New(h), config.NewDynamic(map[string]any{
		"frontend.rps": 100, "limit.maxIDLength": 900, "no.such.setting": true,
	}))
	recs := h.find("dynamic config keys not implemented by Sundial are ignored", nil)
	require.Len(t, recs, 1)
	require.Equal(t, slog.LevelWarn, recs[0].level)
	require.Equal(t, "[frontend.rps no.such.setting]", recs[0].attrs["keys"])

	quiet := newCaptureHandler()
	startServerWithLogger(t, slog.New(quiet), config.NewDynamic(map[string]any{"limit.maxIDLength": 900}))
	require.Empty(t, quiet.find("dynamic config keys not implemented by Sundial are ignored", nil))
}

// The standalone binary (which, unlike this test binary, does not link the
// SDK) accepts gzip-compressed requests and warns about unknown
// --dynamic-config-value keys.
func TestStandaloneServerGzipAndUnknownKeys(t *testing.T) {
	t.Parallel()
	bin := buildSundial(t)
	ctx := testContext(t, 2*time.Minute)
	port := freePort(t)
	output := &lockedBuffer{}
	cmd := exec.Command(bin, "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--db-filename", filepath.Join(t.TempDir(), "s.db"), "--log-level", "warn", "--headless",
		"--dynamic-config-value", "frontend.namespaceRPS=10",
		"--dynamic-config-value", "limit.maxIDLength=900")
	cmd.Stdout, cmd.Stderr = output, output
	require.NoError(t, cmd.Start())
	p := &serverProcess{cmd: cmd, output: output, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitUntilServing(t, ctx, addr, p)

	seen := &compressionSeen{}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(seen), grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	svc := workflowservice.NewWorkflowServiceClient(conn)
	_, err = svc.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err, "GetSystemInfo with gzip")
	resp, err := svc.StartWorkflowExecution(ctx, validStart(t))
	require.NoError(t, err, "StartWorkflowExecution with gzip")
	require.NotEmpty(t, resp.GetRunId())
	require.Equal(t, []string{"gzip", "gzip"}, seen.all(), "responses are compressed like the requests")

	logs := output.String()
	require.Equal(t, 1, strings.Count(logs, "dynamic config keys not implemented by Sundial are ignored"), logs)
	require.Contains(t, logs, "frontend.namespaceRPS", logs)
	require.NotContains(t, logs, "limit.maxIDLength", logs)
}

// A start refused because of an existing run names it in the reference
// server's words, which depend on whether the run is open and on the
// reuse policy that refused it.
func TestAlreadyStartedMessages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	const noConflict = enumspb.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED
	requireRefusal := func(err error, want string) {
		t.Helper()
		var as *serviceerror.WorkflowExecutionAlreadyStarted
		require.True(t, errors.As(err, &as), "want WorkflowExecutionAlreadyStarted, got %v", err)
		require.Equal(t, want, as.Error())
	}

	id := uniqueName(t, "reject")
	runID, err := startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, noConflict)
	require.NoError(t, err)
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, noConflict)
	requireRefusal(err, fmt.Sprintf("Workflow execution is already running. WorkflowId: %s, RunId: %s.", id, runID))
	require.NoError(t, env.client.TerminateWorkflow(ctx, id, runID, "closing"))
	_, err = startOnce(t, env, id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, noConflict)
	requireRefusal(err, fmt.Sprintf("Workflow execution already finished. WorkflowId: %s, RunId: %s. "+
		"Workflow Id reuse policy: reject duplicate workflow Id.", id, runID))

	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Quick"})
	})
	id = uniqueName(t, "completed")
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "Quick")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
	_, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowExecutionErrorWhenAlreadyStarted: true}, "Quick")
	requireRefusal(err, fmt.Sprintf("Workflow execution already finished successfully. WorkflowId: %s, RunId: %s. "+
		"Workflow Id reuse policy: allow duplicate workflow Id if last run failed.", id, run.GetRunID()))
}

// Cancel and terminate with first_execution_run_id act on the current run
// only if its chain started at that run (the run ID given is ignored, as
// the reference server does); otherwise NotFound and nothing changes.
func TestCancelTerminateFirstExecutionRunID(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context, n int) error {
			if n == 0 {
				return workflow.NewContinueAsNewError(ctx, "Chain", 1)
			}
			dctx, _ := workflow.NewDisconnectedContext(ctx) // keep waiting after a cancel request
			workflow.GetSignalChannel(ctx, "never").Receive(dctx, nil)
			return nil
		}, workflow.RegisterOptions{Name: "Chain"})
	})
	id := uniqueName(t, "wf")
	first, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "Chain", 0)
	require.NoError(t, err)
	var second string
	eventually(t, ctx, "the continued run to start", func() error {
		d, err := env.client.DescribeWorkflowExecution(ctx, id, "")
		if err != nil || d.GetWorkflowExecutionInfo().GetExecution().GetRunId() == first.GetRunID() {
			return fmt.Errorf("not yet: %v", err)
		}
		second = d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		return nil
	})
	svc := rawService(t, env.addr)
	exec := func(runID string) *commonpb.WorkflowExecution {
		return &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID}
	}
	terminate := func(runID, firstRunID string) error {
		_, err := svc.TerminateWorkflowExecution(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
			Namespace: testNamespace, WorkflowExecution: exec(runID), FirstExecutionRunId: firstRunID, Reason: "test"})
		return err
	}
	cancel := func(runID, firstRunID string) error {
		_, err := svc.RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
			Namespace: testNamespace, WorkflowExecution: exec(runID), FirstExecutionRunId: firstRunID, RequestId: uniqueName(t, "req")})
		return err
	}
	requireNotFound := func(err error, msg string) {
		t.Helper()
		requireCode(t, codes.NotFound, err, msg)
		require.Equal(t, "workflow execution not found", status.Convert(err).Message())
	}

	requireNotFound(terminate(second, "another-chain"), "terminate, other chain")
	requireNotFound(terminate("", "another-chain"), "terminate current, other chain")
	requireNotFound(cancel("", "another-chain"), "cancel, other chain")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, second))
	require.Empty(t, eventsOfType(requireHistory(t, ctx, env.client, id, second), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED))

	// The run ID of the (closed) first run is ignored: the current run of
	// the chain is cancelled, then terminated.
	require.NoError(t, cancel(first.GetRunID(), first.GetRunID()))
	require.Len(t, eventsOfType(requireHistory(t, ctx, env.client, id, second), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED), 1)
	require.NoError(t, terminate(first.GetRunID(), first.GetRunID()))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, second))
	requireCode(t, codes.NotFound, terminate("", first.GetRunID()), "the chain's current run is closed")

	// A new chain under the same workflow ID is not the old chain.
	third, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "Chain", 1)
	require.NoError(t, err)
	requireNotFound(terminate("", first.GetRunID()), "terminate, new chain")
	requireNotFound(cancel(third.GetRunID(), first.GetRunID()), "cancel, new chain")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, runStatus(t, env, id, third.GetRunID()))
	require.NoError(t, terminate("", third.GetRunID()))
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, id, third.GetRunID()))
}

// GetSystemInfo advertises exactly the capabilities Sundial honours (the
// table is in docs/DECISIONS.md).
func TestSystemInfoCapabilities(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	info, err := rawService(t, env.addr).GetSystemInfo(testContext(t, 30*time.Second), &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err)
	want := &workflowservice.GetSystemInfoResponse_Capabilities{
		SignalAndQueryHeader:            true,
		InternalErrorDifferentiation:    true,
		ActivityFailureIncludeHeartbeat: true,
		EncodedFailureAttributes:        true,
		UpsertMemo:                      true,
		EagerWorkflowStart:              true,
		SdkMetadata:                     true,
		CountGroupByExecutionStatus:     true,
		SupportsSchedules:               true,
	}
	require.True(t, proto.Equal(want, info.GetCapabilities()), "capabilities: got %v, want %v", info.GetCapabilities(), want)
}

// activity_failure_include_heartbeat: the heartbeat details sent with
// RespondActivityTaskFailed are what the next attempt starts from.
func TestActivityFailureIncludesHeartbeat(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 3*time.Minute)
	byHand := uniqueName(t, "by-hand") // only this test polls it
	tq := env.startWorker(t, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
			ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: byHand, StartToCloseTimeout: time.Minute,
				RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 2}})
			return workflow.ExecuteActivity(ctx, "ByHand").Get(ctx, nil)
		}, workflow.RegisterOptions{Name: "RunsByHand"})
	})
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "RunsByHand")
	require.NoError(t, err)
	svc := rawService(t, env.addr)
	poll := func() *workflowservice.PollActivityTaskQueueResponse {
		for {
			resp, err := svc.PollActivityTaskQueue(ctx, &workflowservice.PollActivityTaskQueueRequest{
				Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: byHand}, Identity: "by-hand"})
			require.NoError(t, err)
			if len(resp.GetTaskToken()) > 0 {
				return resp
			}
		}
	}
	first := poll()
	require.Equal(t, int32(1), first.GetAttempt())
	details := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"from-failure"`)}}}
	_, err = svc.RespondActivityTaskFailed(ctx, &workflowservice.RespondActivityTaskFailedRequest{
		Namespace: testNamespace, TaskToken: first.GetTaskToken(), Identity: "by-hand", LastHeartbeatDetails: details,
		Failure: &failurepb.Failure{Message: "boom", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
			ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "Boom"}}},
	})
	require.NoError(t, err)
	second := poll()
	require.Equal(t, int32(2), second.GetAttempt())
	require.True(t, proto.Equal(details, second.GetHeartbeatDetails()), "heartbeat details of attempt 2: %v", second.GetHeartbeatDetails())
	_, err = svc.RespondActivityTaskCompleted(ctx, &workflowservice.RespondActivityTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: second.GetTaskToken(), Identity: "by-hand"})
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
}

// After the worker that has the run cached stops (worker.Stop sends
// ShutdownWorker), the next workflow task goes to the normal queue at once:
// the other worker runs it and no sticky schedule-to-start timeout is
// written.
func TestShutdownWorkerReleasesStickyQueue(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	tq := uniqueName(t, "tq")
	register := func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			var v string
			workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
			return v, nil
		}, workflow.RegisterOptions{Name: "WaitSignal"})
	}
	a := worker.New(env.client, tq, worker.Options{Identity: "worker-a"})
	register(a)
	require.NoError(t, a.Start())
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq,
		WorkflowTaskTimeout: 10 * time.Second}, "WaitSignal")
	require.NoError(t, err)
	eventually(t, ctx, "worker A to complete the first task", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil || len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) == 0 {
			return fmt.Errorf("not yet: %v", err)
		}
		return nil
	})
	a.Stop()
	b := worker.New(env.client, tq, worker.Options{Identity: "worker-b"})
	register(b)
	require.NoError(t, b.Start())
	t.Cleanup(b.Stop)
	eventually(t, ctx, "worker B to poll the normal queue", func() error {
		resp, err := env.client.DescribeTaskQueue(ctx, tq, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return err
		}
		for _, p := range resp.GetPollers() {
			if p.GetIdentity() == "worker-b" {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "go", "from-b"))
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "from-b", out)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), "history: %v", eventTypes(events))
	started := eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED)
	require.Equal(t, "worker-b", started[len(started)-1].GetWorkflowTaskStartedEventAttributes().GetIdentity())
}

// A workflow task already waiting on a sticky queue when its worker calls
// ShutdownWorker is handed back to the normal queue at once, not left to
// the sticky schedule-to-start timeout. The "sticky worker" is played by
// hand so the task is sure to wait on its queue.
func TestShutdownWorkerHandsBackHeldStickyTask(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 90*time.Second)
	svc := rawService(t, env.addr)
	tq, sticky := uniqueName(t, "tq"), uniqueName(t, "sticky")
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, "WaitSignal")
	require.NoError(t, err)
	var task *workflowservice.PollWorkflowTaskQueueResponse
	for len(task.GetTaskToken()) == 0 {
		task, err = svc.PollWorkflowTaskQueue(ctx, &workflowservice.PollWorkflowTaskQueueRequest{
			Namespace: testNamespace, TaskQueue: &taskqueuepb.TaskQueue{Name: tq}, Identity: "by-hand"})
		require.NoError(t, err)
	}
	_, err = svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
		Namespace: testNamespace, TaskToken: task.GetTaskToken(), Identity: "by-hand",
		StickyAttributes: &taskqueuepb.StickyExecutionAttributes{
			WorkerTaskQueue:        &taskqueuepb.TaskQueue{Name: sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: tq},
			ScheduleToStartTimeout: durationpb.New(5 * time.Second)},
	})
	require.NoError(t, err)
	// One short poll makes the sticky queue available (recently polled).
	pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, _ = svc.PollWorkflowTaskQueue(pctx, &workflowservice.PollWorkflowTaskQueueRequest{Namespace: testNamespace,
		TaskQueue: &taskqueuepb.TaskQueue{Name: sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: tq}, Identity: "by-hand"})
	cancel()
	require.NoError(t, env.client.SignalWorkflow(ctx, run.GetID(), "", "go", "after-shutdown"))
	eventually(t, ctx, "the task to wait on the sticky queue", func() error {
		events, err := history(ctx, env.client, run.GetID(), run.GetRunID())
		if err != nil || len(eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)) < 2 {
			return fmt.Errorf("not yet: %v", err)
		}
		return nil
	})
	_, err = svc.ShutdownWorker(ctx, &workflowservice.ShutdownWorkerRequest{Namespace: testNamespace,
		StickyTaskQueue: sticky, Identity: "by-hand", Reason: "test"})
	require.NoError(t, err)

	env.startWorkerOn(t, tq, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
			var v string
			workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
			return v, nil
		}, workflow.RegisterOptions{Name: "WaitSignal"})
	})
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "after-shutdown", out)
	events := requireHistory(t, ctx, env.client, run.GetID(), run.GetRunID())
	requireContiguousIDs(t, events)
	require.Empty(t, eventsOfType(events, enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), "history: %v", eventTypes(events))
}

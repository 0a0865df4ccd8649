package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

const testNamespace = "default"

// testEnv is one in-process server and an SDK client connected to it.
type testEnv struct {
	addr   string
	client client.Client
	logs   *lockedBuffer
}

// newTestEnv starts a server on a free port with its own database (an
// SQLite file, or see testBackend) and dials an SDK client. Both are closed when t ends. Server and SDK logs
// (warn and above) are kept in memory and printed only if t fails.
func newTestEnv(t *testing.T) *testEnv {
	return newTestEnvWithConfig(t, nil)
}

// newTestEnvWithConfig is newTestEnv with dynamic-config values.
func newTestEnvWithConfig(t *testing.T, dynamic map[string]any) *testEnv {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and SDK logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	store, dbFile := testBackend(t)
	cfg := server.Config{
		IP:            "127.0.0.1",
		Port:          0,
		DBFilename:    dbFile,
		Store:         store,
		NumShards:     4,
		Namespaces:    []string{testNamespace},
		DynamicConfig: config.NewDynamic(dynamic),
		Logger:        logger.With("component", "server"),
	}
	auditSuiteConfig(&cfg)
	s, err := server.New(cfg)
	require.NoError(t, err, "server.New")
	require.NoError(t, s.Start(), "server.Start")
	t.Cleanup(func() { s.Stop() })
	watchAudit(t, s)

	addr := s.FrontendAddr()
	require.NotEmpty(t, addr, "FrontendAddr after Start")
	c := dialClient(t, addr, logger.With("component", "sdk"))
	return &testEnv{addr: addr, client: c, logs: logs}
}

// dialClient connects an SDK client to addr within 30 s and closes it when
// t ends.
func dialClient(t *testing.T, addr string, logger *slog.Logger) client.Client {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:          addr,
		Namespace:         testNamespace,
		Logger:            sdklog.NewStructuredLogger(logger),
		ConnectionOptions: client.ConnectionOptions{DialOptions: recordedDialOptions(addr)},
	})
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(c.Close)
	return c
}

// quietSDKLogger discards SDK logs.
func quietSDKLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var taskQueueSeq atomic.Int64

// uniqueName returns a name unique within this test binary, derived from
// the test name so server logs can be matched to tests.
func uniqueName(t *testing.T, kind string) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("%s-%s-%d", name, kind, taskQueueSeq.Add(1))
}

// startWorker starts a worker on a new task queue unique to this call and
// returns the queue name. The worker stops when t ends.
func (e *testEnv) startWorker(t *testing.T, register func(worker.Registry)) string {
	t.Helper()
	tq := uniqueName(t, "tq")
	e.startWorkerOn(t, tq, register)
	return tq
}

// startWorkerOn starts a worker on task queue tq. The caller may Stop it
// early; it is stopped (again, harmlessly) when t ends.
func (e *testEnv) startWorkerOn(t *testing.T, tq string, register func(worker.Registry)) worker.Worker {
	t.Helper()
	w := worker.New(e.client, tq, worker.Options{})
	register(w)
	require.NoError(t, w.Start(), "worker.Start on %s", tq)
	var once sync.Once
	stop := func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return &stoppableWorker{Worker: w, stop: stop}
}

// stoppableWorker makes Stop idempotent so a test can stop a worker early.
type stoppableWorker struct {
	worker.Worker
	stop func()
}

func (w *stoppableWorker) Stop() { w.stop() }

// testContext returns a context cancelled after d or when t ends.
func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startOptions returns start options with a unique workflow ID on tq.
func startOptions(t *testing.T, tq string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}
}

// history reads the full history of a run (no long poll).
func history(ctx context.Context, c client.Client, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// requireHistory is history that fails t on error.
func requireHistory(t *testing.T, ctx context.Context, c client.Client, workflowID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	events, err := history(ctx, c, workflowID, runID)
	require.NoError(t, err, "history of %s/%s", workflowID, runID)
	return events
}

func eventTypes(events []*historypb.HistoryEvent) []enumspb.EventType {
	out := make([]enumspb.EventType, len(events))
	for i, ev := range events {
		out[i] = ev.GetEventType()
	}
	return out
}

func eventsOfType(events []*historypb.HistoryEvent, et enumspb.EventType) []*historypb.HistoryEvent {
	var out []*historypb.HistoryEvent
	for _, ev := range events {
		if ev.GetEventType() == et {
			out = append(out, ev)
		}
	}
	return out
}

// checkContiguousIDs returns an error unless event IDs are 1, 2, 3, ...
func checkContiguousIDs(events []*historypb.HistoryEvent) error {
	for i, ev := range events {
		if ev.GetEventId() != int64(i+1) {
			return fmt.Errorf("event %d (%v) has ID %d, want %d", i, ev.GetEventType(), ev.GetEventId(), i+1)
		}
	}
	return nil
}

func requireContiguousIDs(t *testing.T, events []*historypb.HistoryEvent) {
	t.Helper()
	require.NoError(t, checkContiguousIDs(events), "history: %v", eventTypes(events))
}

// markerNames lists the names of MarkerRecorded events in order.
func markerNames(events []*historypb.HistoryEvent) []string {
	var out []string
	for _, ev := range eventsOfType(events, enumspb.EVENT_TYPE_MARKER_RECORDED) {
		out = append(out, ev.GetMarkerRecordedEventAttributes().GetMarkerName())
	}
	return out
}

// eventually polls cond every 100 ms until it returns nil or ctx ends, and
// fails t with cond's last error then.
func eventually(t *testing.T, ctx context.Context, what string, cond func() error) {
	t.Helper()
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %v", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type (
	temporalCanceledError   = temporal.CanceledError
	temporalTerminatedError = temporal.TerminatedError
)

type describeResponse = workflowservice.DescribeWorkflowExecutionResponse

// errNotYet is eventually's "keep waiting".
var errNotYet = fmt.Errorf("not yet")

func deleteRequest(workflowID, runID string) *workflowservice.DeleteWorkflowExecutionRequest {
	return &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace:         testNamespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
	}
}

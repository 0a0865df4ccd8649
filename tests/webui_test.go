package tests

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchpb "go.temporal.io/api/batch/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// ChromiumEnv names the Chromium binary the browser test drives; without
// it the test skips. ScreenshotsEnv, when set, is the directory the test
// writes its screenshots to (default: the test's temporary directory).
const (
	ChromiumEnv    = "SUNDIAL_CHROMIUM"
	ScreenshotsEnv = "SUNDIAL_UI_SCREENSHOTS"
)

// uiWorkerIdentity is the worker's identity, which the task-queue page
// lists among its pollers.
const uiWorkerIdentity = "sundial-ui-test-worker"

// uiParentWorkflow runs an activity, waits for the "proceed" signal, then
// runs a child workflow.
func uiParentWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var greeting string
	if err := workflow.ExecuteActivity(ctx, "UIGreet", name).Get(ctx, &greeting); err != nil {
		return "", err
	}
	workflow.GetSignalChannel(ctx, "proceed").Receive(ctx, nil)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child",
	})
	var child string
	if err := workflow.ExecuteChildWorkflow(cctx, "UIChild", greeting).Get(ctx, &child); err != nil {
		return "", err
	}
	return child, nil
}

func uiChildWorkflow(ctx workflow.Context, greeting string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, "UIGreet", greeting).Get(ctx, &out)
	return out, err
}

// uiBlockedWorkflow stays open with an activity pending, so its call
// stack, queries and pending activities can be shown.
func uiBlockedWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour})
	_ = workflow.ExecuteActivity(ctx, "UIWaitForStop")
	workflow.GetSignalChannel(ctx, "never").Receive(ctx, nil)
	return nil
}

// uiWaitForStop is an activity that runs until its worker stops.
func uiWaitForStop(ctx context.Context) error {
	select {
	case <-activity.GetWorkerStopChannel(ctx):
	case <-ctx.Done():
	}
	return nil
}

// uiEnv is a server with the Web UI and an SDK client.
type uiEnv struct {
	client client.Client
	uiURL  string
}

func newUIEnv(t *testing.T) *uiEnv {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and SDK logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, dbFile := testBackend(t)
	s, err := server.New(server.Config{
		IP: "127.0.0.1", DBFilename: dbFile, Store: store, NumShards: 4,
		DynamicConfig: config.NewDynamic(nil),
		Logger:        logger.With("component", "server"),
		UI:            &server.UIConfig{Address: "127.0.0.1:0"},
	})
	require.NoError(t, err, "server.New")
	require.NoError(t, s.Start(), "server.Start")
	t.Cleanup(s.Stop)
	require.NotEmpty(t, s.UIURL(), "UIURL after Start")
	return &uiEnv{client: dialClient(t, s.FrontendAddr(), logger.With("component", "sdk")), uiURL: s.UIURL()}
}

// TestWebUI drives the embedded Web UI in headless Chromium against a
// server with data: a finished workflow with activities, a signal and a
// child, and a running one with a pending activity. Every page must show
// what it is for, with no error banner and no failed API call.
func TestWebUI(t *testing.T) {
	chromium := os.Getenv(ChromiumEnv)
	if chromium == "" {
		t.Skipf("%s is not set: the Web UI browser test needs Chromium (.ci/run installs Debian's chromium and sets it)", ChromiumEnv)
	}
	env := newUIEnv(t)
	tq := uniqueName(t, "tq")
	w := worker.New(env.client, tq, worker.Options{Identity: uiWorkerIdentity})
	w.RegisterWorkflowWithOptions(uiParentWorkflow, workflow.RegisterOptions{Name: "UIParent"})
	w.RegisterWorkflowWithOptions(uiChildWorkflow, workflow.RegisterOptions{Name: "UIChild"})
	w.RegisterWorkflowWithOptions(uiBlockedWorkflow, workflow.RegisterOptions{Name: "UIBlocked"})
	w.RegisterActivityWithOptions(func(_ context.Context, s string) (string, error) { return "hello " + s, nil },
		activity.RegisterOptions{Name: "UIGreet"})
	w.RegisterActivityWithOptions(uiWaitForStop, activity.RegisterOptions{Name: "UIWaitForStop"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx := testContext(t, 5*time.Minute)
	parentID := uniqueName(t, "parent")
	run, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: parentID, TaskQueue: tq, StaticSummary: "the parent in the UI test", StaticDetails: "**details** in markdown",
	}, "UIParent", "ui")
	require.NoError(t, err)
	require.NoError(t, env.client.SignalWorkflow(ctx, parentID, run.GetRunID(), "proceed", nil))
	var result string
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, "hello hello ui", result)
	blockedID := uniqueName(t, "blocked")
	blocked, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: blockedID, TaskQueue: tq}, "UIBlocked")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := env.client.DescribeWorkflowExecution(ctx, blockedID, blocked.GetRunID())
		return err == nil && len(d.GetPendingActivities()) == 1 && d.GetPendingActivities()[0].GetLastStartedTime() != nil
	}, time.Minute, 50*time.Millisecond, "the blocked workflow's activity starts")

	b := newBrowser(t, chromium)
	ns := env.uiURL + "/namespaces/" + testNamespace
	wf := func(id, runID string) string { return ns + "/workflows/" + id + "/" + runID }
	parent, running := wf(parentID, run.GetRunID()), wf(blockedID, blocked.GetRunID())

	b.visit("workflow-list", ns+"/workflows", parentID, blockedID, "UIParent")
	b.visit("workflow-history", parent+"/history", "UIGreet", "proceed", "UIChild")
	b.visit("workflow-relationships", parent+"/relationships", parentID+"-child")
	b.visit("call-stack", running+"/call-stack", "uiBlockedWorkflow")
	b.visit("task-queue", ns+"/task-queues/"+tq, uiWorkerIdentity)

	uiPages(b, env.uiURL, ns, parent, running, parentID, blockedID)
	uiLongHistory(t, env, b, tq, wf)
	uiActions(t, env, b, tq, wf)
	uiStartWorkflow(t, env, b, tq, ns)
	uiSchedulesAndBatch(t, env, b, tq, ns)
}

// uiSchedulesAndBatch opens the Schedules page (the list, and a
// schedule with its upcoming runs) and the Batch operations page (a
// finished terminate job).
func uiSchedulesAndBatch(t *testing.T, env *uiEnv, b *browser, tq, ns string) {
	ctx := testContext(t, 2*time.Minute)
	scheduleID := uniqueName(t, "schedule")
	_, err := env.client.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     scheduleID,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: scheduleID + "-wf", Workflow: "UIBlocked", TaskQueue: tq},
	})
	require.NoError(t, err)
	b.visit("schedules", ns+"/schedules", scheduleID)
	b.visit("schedule", ns+"/schedules/"+url.PathEscape(scheduleID), scheduleID, "5 Upcoming Runs")

	victimID := uniqueName(t, "batch-victim")
	_, err = env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: victimID, TaskQueue: tq + "-idle"}, "UIBlocked")
	require.NoError(t, err)
	jobID := uniqueName(t, "batch")
	_, err = env.client.WorkflowService().StartBatchOperation(ctx, &workflowservice.StartBatchOperationRequest{
		Namespace: testNamespace, JobId: jobID, Reason: "ui test",
		Executions: []*commonpb.WorkflowExecution{{WorkflowId: victimID}},
		Operation: &workflowservice.StartBatchOperationRequest_TerminationOperation{
			TerminationOperation: &batchpb.BatchOperationTermination{}},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := env.client.WorkflowService().DescribeBatchOperation(ctx, &workflowservice.DescribeBatchOperationRequest{
			Namespace: testNamespace, JobId: jobID})
		return err == nil && d.GetState() == enumspb.BATCH_OPERATION_STATE_COMPLETED
	}, time.Minute, 50*time.Millisecond, "the batch job completes")
	b.visit("batch-operations", ns+"/batch-operations", jobID)
	b.visit("batch-operation", ns+"/batch-operations/"+url.PathEscape(jobID), jobID, "1 succeeded", "100% complete")
}

// uiPages opens every other page of the UI that shows this data: parent
// is the finished parent's page, running the blocked workflow's.
func uiPages(b *browser, uiURL, ns, parent, running, parentID, blockedID string) {
	b.visit("namespaces", uiURL+"/namespaces", testNamespace)
	b.visit("namespace", ns, testNamespace)
	b.visit("workflow-list-filtered", ns+"/workflows?query="+url.QueryEscape("WorkflowType = 'UIParent'"),
		parentID, "1 COMPLETED")
	for _, view := range []struct{ button, shows string }{{"Running", blockedID}, {"Parent", parentID}, {"Scheduled", "Workflow"}, {"Today", parentID}} {
		b.visit("workflow-list", ns+"/workflows", parentID)
		b.click("saved-view", "button, a", view.button)
		b.shows("saved-view-"+strings.ToLower(view.button), view.button+" view", view.shows)
	}
	b.visit("history-compact", parent+"/history/compact", "UIGreet")
	b.visit("history-json", parent+"/history/json", "UIGreet")
	b.visit("timeline", parent+"/timeline", "UIGreet")
	b.visit("pending-activities", running+"/pending-activities", "UIWaitForStop")
	b.visit("queries", running+"/query", "Run Query")
	b.runQuery("query-result", "Refresh Query")
	b.visit("user-metadata", parent+"/user-metadata", "the parent in the UI test")
	b.visit("metadata", parent+"/metadata", parentID)
	b.visit("search-attributes", parent+"/search-attributes", parentID)
	b.visit("memo", parent+"/memo", parentID)
	b.visit("workflow-workers", running+"/workers", uiWorkerIdentity)
	b.visit("workers", ns+"/workers", "Workers")
	b.visit("standalone-activities", ns+"/activities", "Activities")
}

// uiClick is one click: on the first shown, enabled element matching
// selector whose text is text (any text when empty). With typed set, the
// element is an input to type typed into.
type uiClick struct{ selector, text, typed string }

// confirmIn clicks the confirm button of the dialog named modal.
func confirmIn(modal string) uiClick {
	return uiClick{fmt.Sprintf(`[data-testid=%q] [data-testid="confirm-modal-button"]`, modal), "", ""}
}

// uiActions requests cancellation, terminates, signals and resets
// workflows through the UI's buttons, menus and confirmation dialogs (each
// on a new running workflow); the server must then show the change.
func uiActions(t *testing.T, env *uiEnv, b *browser, tq string, wf func(id, run string) string) {
	ctx := testContext(t, 5*time.Minute)
	more := uiClick{"button", "More Actions", ""}
	item := func(text string) uiClick { return uiClick{"button, [role=menuitem]", text, ""} }
	selectFirst := func(modal, button string) []uiClick {
		return []uiClick{{fmt.Sprintf(`[data-testid=%q]`, button), "", ""},
			{fmt.Sprintf(`[data-testid=%q] [role=option]`, modal), "", ""}}
	}
	hasEvent := func(et enumspb.EventType) func(string, string) bool {
		return func(id, run string) bool {
			h, err := history(ctx, env.client, id, run)
			return err == nil && len(eventsOfType(h, et)) == 1
		}
	}
	for _, action := range []struct {
		name  string
		steps []uiClick
		done  func(id, run string) bool
	}{
		{"cancel", []uiClick{{"button", "Request Cancellation", ""}, confirmIn("cancel-confirmation-modal")},
			hasEvent(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)},
		{"terminate", []uiClick{more, item("Terminate"), confirmIn("terminate-confirmation-modal")},
			hasEvent(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)},
		{"signal", append(append([]uiClick{more, item("Send a Signal")},
			selectFirst("signal-confirmation-modal", "signal-select-button")...), // "Custom"
			uiClick{`[data-testid="signal-confirmation-modal"] input:not([type]), [data-testid="signal-confirmation-modal"] input[type=text]`, "", "from-the-ui"},
			confirmIn("signal-confirmation-modal")),
			func(id, run string) bool {
				h, err := history(ctx, env.client, id, run)
				sig := eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
				return err == nil && len(sig) == 1 &&
					sig[0].GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == "from-the-ui"
			}},
		{"reset", append(append([]uiClick{more, item("Reset")},
			selectFirst("reset-confirmation-modal", "workflow-reset-event-id-select-button")...),
			confirmIn("reset-confirmation-modal")),
			func(id, run string) bool {
				d, err := env.client.DescribeWorkflowExecution(ctx, id, "")
				return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run
			}},
	} {
		id := uniqueName(t, action.name)
		r, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "UIBlocked")
		require.NoError(t, err)
		b.visit(action.name, wf(id, r.GetRunID())+"/history", id, "Activity Task Scheduled")
		for _, c := range action.steps {
			b.click(action.name, c.selector, c.text)
			if c.typed != "" {
				require.NoError(t, chromedp.Do(b.ctx, chromedp.KeyEvent(c.typed)), "%s: type %q", action.name, c.typed)
			}
		}
		require.Eventually(t, func() bool { return action.done(id, r.GetRunID()) },
			pageTimeout, 50*time.Millisecond, "%s from the UI reaches the server", action.name)
		b.screenshot(action.name + "-done")
		b.takeFailures(action.name, "after the action")
	}
}

// uiLongHistory opens the history of a running workflow with several
// pages of events: the UI shows the newest first, paging backwards with
// GetWorkflowExecutionHistoryReverse.
func uiLongHistory(t *testing.T, env *uiEnv, b *browser, tq string, wf func(id, run string) string) {
	ctx := testContext(t, 5*time.Minute)
	id := uniqueName(t, "long")
	r, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "UIBlocked")
	require.NoError(t, err)
	for i := range 80 {
		require.NoError(t, env.client.SignalWorkflow(ctx, id, r.GetRunID(), "noise", i))
	}
	var last int64
	require.Eventually(t, func() bool {
		h, err := history(ctx, env.client, id, r.GetRunID())
		if err != nil || len(eventsOfType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)) != 80 ||
			h[len(h)-1].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return false
		}
		last = h[len(h)-1].GetEventId()
		return true
	}, pageTimeout, 50*time.Millisecond, "80 signals are handled")
	require.Greater(t, last, int64(100), "the history has more than one page")
	b.visit("long-history", wf(id, r.GetRunID())+"/history", "Workflow Execution Signaled", fmt.Sprint(last))
	// Page towards the oldest events until the first one is shown.
	next := fmt.Sprintf(`%s.includes("Workflow Execution Started") || (() => {
		const n = document.querySelector('button[aria-label="Next Page"]');
		if (n && !n.disabled) n.click();
		return false;
	})()`, pageTextJS)
	_, err = chromedp.Run(b.ctx, chromedp.Poll[bool](next, chromedp.WithPollingInterval(500*time.Millisecond), chromedp.WithPollingTimeout(pageTimeout)))
	require.NoError(t, err, "page to the start of the history")
	b.shows("long-history-last-page", "the last page of the history", "Workflow Execution Started")
}

// uiStartWorkflow fills in the UI's Start Workflow form and submits it;
// the workflow must then run on the worker.
func uiStartWorkflow(t *testing.T, env *uiEnv, b *browser, tq, ns string) {
	ctx := testContext(t, 5*time.Minute)
	id := uniqueName(t, "started-from-ui")
	b.visit("start-workflow", ns+"/workflows/start-workflow", "Start Workflow")
	for field, value := range map[string]string{"workflowId": id, "taskQueue": tq, "workflowType": "UIBlocked"} {
		b.click("start-workflow", "#"+field, "")
		require.NoError(t, chromedp.Do(b.ctx, chromedp.KeyEvent(value)), "type %s", field)
	}
	b.click("start-workflow", "button", "Start Workflow")
	require.Eventually(t, func() bool {
		d, err := env.client.DescribeWorkflowExecution(ctx, id, "")
		return err == nil && len(d.GetPendingActivities()) == 1
	}, pageTimeout, 50*time.Millisecond, "the workflow started from the UI runs")
	b.screenshot("start-workflow-done")
	b.takeFailures("start-workflow", "after submitting")
}

// browser is one headless Chromium tab that records the UI's API calls.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	calls    map[network.RequestID]string // API calls without an answer yet
	inflight map[network.RequestID]string // the same, less long polls
	failed   []string                     // API calls answered >= 400 or not at all
	// loaders: the document (loader) that made each call in inflight;
	// document: the main frame's current one. Calls of a document the tab
	// has left are not waited for: Chromium does not always report their
	// cancellation, and a page being left may still start calls after
	// visit forgot the earlier ones.
	loaders  map[network.RequestID]cdp.LoaderID
	document cdp.LoaderID
}

// newBrowser starts Chromium with a fresh profile; it stops when t ends.
func newBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	shots := os.Getenv(ScreenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	b := &browser{t: t, ctx: ctx, shots: shots, calls: map[network.RequestID]string{}, inflight: map[network.RequestID]string{},
		loaders: map[network.RequestID]cdp.LoaderID{}}
	require.NoError(t, chromedp.Listen(ctx, b.onEvent), "start Chromium (%s)", chromium)
	return b
}

// onEvent tracks API calls (paths with /api/): in flight, and failed.
// Long polls of a running workflow's history (waitNewEvent=true) are
// checked for failure but not waited for. It runs on chromedp's reader
// goroutine, so it only records.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if u := e.Request.URL; strings.Contains(u, "/api/") {
			b.calls[e.RequestID] = e.Request.Method + " " + u
			if !strings.Contains(u, "waitNewEvent=true") {
				b.inflight[e.RequestID] = b.calls[e.RequestID]
				b.loaders[e.RequestID] = e.LoaderID
			}
		}
	case *page.EventFrameNavigated:
		if e.Frame.ParentID == "" {
			b.document = e.Frame.LoaderID
		}
	case *network.EventResponseReceived:
		if call, ok := b.calls[e.RequestID]; ok && e.Response.Status >= 400 {
			b.failed = append(b.failed, fmt.Sprintf("%s -> %d %s", call, e.Response.Status, e.Response.StatusText))
		}
	case *network.EventLoadingFinished:
		delete(b.calls, e.RequestID)
		delete(b.inflight, e.RequestID)
		delete(b.loaders, e.RequestID)
	case *network.EventLoadingFailed:
		// A call the page itself abandoned (it navigated away, or stopped
		// a long poll) is not a failure of the server.
		if call, ok := b.calls[e.RequestID]; ok && !e.Canceled && e.ErrorText != "net::ERR_ABORTED" {
			b.failed = append(b.failed, fmt.Sprintf("%s -> %s", call, e.ErrorText))
		}
		delete(b.calls, e.RequestID)
		delete(b.inflight, e.RequestID)
		delete(b.loaders, e.RequestID)
	}
}

// pageTimeout bounds the wait for one page's content; the machine may be
// slow and shared.
const pageTimeout = 90 * time.Second

// visit opens page, waits until the page shows every one of texts and its
// API calls have all been answered, and saves a screenshot named name. The
// test fails if the page does not show texts, shows an error or made an
// API call that failed; it goes on with the next page either way.
func (b *browser) visit(name, page string, texts ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	// Calls of the page being left are not this page's: Chromium does not
	// always report their cancellation, so they would look in flight
	// forever (those it starts before the new document commits are left
	// out by their loader; see browser.loaders).
	b.mu.Lock()
	clear(b.inflight)
	clear(b.loaders)
	b.mu.Unlock()
	require.NoError(b.t, chromedp.Do(ctx, chromedp.Navigate(page)), "open %s", page)
	b.shows(name, page, texts...)
}

// shows waits until the open page shows every one of texts and its API
// calls have all been answered, saves a screenshot named name, and fails
// the test (going on) if it does not, shows an error or made an API call
// that failed. where names the page in messages.
func (b *browser) shows(name, where string, texts ...string) {
	t := b.t
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	defer b.takeFailures(name, where)
	cond := "true"
	for _, s := range texts {
		cond += fmt.Sprintf(" && %s.includes(%q)", pageTextJS, s)
	}
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(pageTimeout)))
	if err != nil {
		b.screenshot(name)
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](pageTextJS))
		t.Errorf("%s (%s) did not show %q: %v\npage text:\n%s", name, where, texts, err, body)
		return
	}
	if !assert.Eventually(t, func() bool { return len(b.inflightCalls()) == 0 }, pageTimeout, 20*time.Millisecond) {
		t.Errorf("%s: API calls still in flight after %v: %v", name, pageTimeout, b.inflightCalls())
	}
	b.screenshot(name)
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](errorBannersJS))
	require.NoError(t, err, "%s: look for error banners", name)
	assert.Empty(t, errs, "%s (%s) shows an error", name, where)
}

// takeFailures fails the test for the API calls that failed since the last
// page, naming this one.
func (b *browser) takeFailures(name, page string) {
	b.mu.Lock()
	failed := b.failed
	b.failed = nil
	b.mu.Unlock()
	assert.Empty(b.t, failed, "%s (%s): failed API calls", name, page)
}

// click waits for a shown, enabled element matching selector (and, when
// text is set, whose text is text) and clicks it.
func (b *browser) click(name, selector, text string) {
	t := b.t
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageTimeout)
	defer cancel()
	js := fmt.Sprintf(`(() => {
		const e = Array.from(document.querySelectorAll(%q)).find(e =>
			e.offsetParent !== null && !e.disabled && (%q === '' || e.innerText.trim() === %q));
		if (!e) return false;
		e.focus();
		e.click();
		return true;
	})()`, selector, text, text)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(pageTimeout))); err != nil {
		b.screenshot(name + "-click")
		t.Fatalf("%s: cannot click %s %q: %v", name, selector, text, err)
	}
}

// runQuery clicks Run Query on the open queries page (with the query type
// the page preselects) and waits until the page shows want.
func (b *browser) runQuery(name, want string) {
	b.t.Helper()
	b.click(name, "button", "Run Query")
	b.shows(name, "Run Query", want)
}

// pageTextJS is the text the page shows, with that of its same-origin
// frames (the UI renders markdown, such as a workflow's summary, in one).
const pageTextJS = `[document, ...Array.from(document.querySelectorAll('iframe'), f => {
	try { return f.contentDocument } catch (e) { return null } })]
	.filter(d => d && d.body).map(d => d.body.innerText).join('\n')`

// errorBannersJS returns the text of what the UI shows for an error: its
// full-page error section and danger-coloured toasts and alerts.
const errorBannersJS = `Array.from(document.querySelectorAll(
	'section[aria-roledescription="error"], .bg-surface-danger, [role="alert"].text-danger'))
	.filter(e => e.offsetParent !== null && e.innerText.trim() !== '')
	.map(e => e.innerText.trim())`

func (b *browser) screenshot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

func (b *browser) inflightCalls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for id, c := range b.inflight {
		if l := b.loaders[id]; l != "" && b.document != "" && l != b.document {
			continue // a call of a document the tab has left
		}
		out = append(out, c)
	}
	return out
}

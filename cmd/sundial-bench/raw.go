package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The raw driver (--driver raw) runs the activities workload over plain
// gRPC, with no SDK: its workflow worker answers each workflow task with a
// pre-built command (schedule the next Echo, or complete the workflow),
// its activity worker echoes the input back, and the runner starts a
// workflow and long-polls its close event. The workflow has the shape of
// the SDK's activitiesWorkflow: n sequential Echo activities, the
// worker sticky like the SDK's (only new events on later tasks). It keeps
// no per-workflow state: the next step is read from the last activity
// result in the task's history ("echo-i").

const (
	rawStickyTimeout = 5 * time.Second // the SDK's default sticky schedule-to-start timeout
	rawActTimeout    = time.Minute     // StartToClose of each Echo, as the SDK workload
	jsonEncoding     = "json/plain"
	rawFailurePause  = 100 * time.Millisecond // after a failed start
)

// rawDriver is the raw gRPC load: workers and runner share one connection.
type rawDriver struct {
	conn      *grpc.ClientConn
	svc       workflowservice.WorkflowServiceClient
	namespace string
	taskQueue string
	sticky    string
	identity  string
	count     int
	idPrefix  string
	seq       atomic.Int64
	log       *slog.Logger

	stop    context.CancelFunc
	workers sync.WaitGroup
	errOnce sync.Once
	werr    error // first worker error, reported with the result
}

// newRawDriver connects to addr and starts wfPollers workflow pollers on
// the normal queue, as many on the worker's sticky queue, and actPollers
// activity pollers.
func newRawDriver(addr, namespace, taskQueue string, count, wfPollers, actPollers int, log *slog.Logger) (*rawDriver, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	d := &rawDriver{
		conn: conn, svc: workflowservice.NewWorkflowServiceClient(conn), namespace: namespace,
		taskQueue: taskQueue, sticky: taskQueue + "-sticky-" + hex.EncodeToString(b),
		identity: fmt.Sprintf("%d@%s@sundial-bench-raw", os.Getpid(), host),
		count:    count, idPrefix: "bench-raw-" + hex.EncodeToString(b), log: log,
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	normal := &taskqueuepb.TaskQueue{Name: taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
	sticky := &taskqueuepb.TaskQueue{Name: d.sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: taskQueue}
	for i := 0; i < wfPollers; i++ {
		d.goWorker(ctx, func(ctx context.Context) error { return d.workflowPoller(ctx, normal) })
		d.goWorker(ctx, func(ctx context.Context) error { return d.workflowPoller(ctx, sticky) })
	}
	for i := 0; i < actPollers; i++ {
		d.goWorker(ctx, d.activityPoller)
	}
	return d, nil
}

func (d *rawDriver) goWorker(ctx context.Context, f func(context.Context) error) {
	d.workers.Add(1)
	go func() {
		defer d.workers.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			d.errOnce.Do(func() { d.werr = err })
			d.log.Error("raw worker stopped", "err", err)
		}
	}()
}

// close stops the pollers and the connection.
func (d *rawDriver) close() {
	d.stop()
	d.workers.Wait()
	_ = d.conn.Close()
}

// workerErr is the first error that stopped a poller, if any; call it
// after close.
func (d *rawDriver) workerErr() error { return d.werr }

// pollErr tells a poll's transient failures (retried after a pause) from
// the end of the run.
func pollErr(ctx context.Context, err error) (retry bool) {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Canceled:
		t := time.NewTimer(50 * time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return ctx.Err() == nil
	}
	return false
}

func (d *rawDriver) workflowPoller(ctx context.Context, tq *taskqueuepb.TaskQueue) error {
	req := &workflowservice.PollWorkflowTaskQueueRequest{Namespace: d.namespace, TaskQueue: tq, Identity: d.identity}
	for ctx.Err() == nil {
		resp, err := d.svc.PollWorkflowTaskQueue(ctx, req)
		if err != nil {
			if pollErr(ctx, err) {
				continue
			}
			return ctxOr(ctx, fmt.Errorf("PollWorkflowTaskQueue: %w", err))
		}
		if len(resp.GetTaskToken()) == 0 {
			continue // long poll ended empty
		}
		events, err := d.fullPage(ctx, resp)
		if err != nil {
			return ctxOr(ctx, err)
		}
		_, err = d.svc.RespondWorkflowTaskCompleted(ctx, &workflowservice.RespondWorkflowTaskCompletedRequest{
			TaskToken: resp.GetTaskToken(), Namespace: d.namespace, Identity: d.identity,
			Commands: d.decide(events),
			StickyAttributes: &taskqueuepb.StickyExecutionAttributes{
				WorkerTaskQueue:        &taskqueuepb.TaskQueue{Name: d.sticky, Kind: enumspb.TASK_QUEUE_KIND_STICKY, NormalName: d.taskQueue},
				ScheduleToStartTimeout: durationpb.New(rawStickyTimeout),
			},
		})
		if err != nil && ctx.Err() == nil {
			// A task that can no longer be completed (e.g. timed out) is the
			// server's to retry; the workflow's failure shows in the result.
			d.log.Warn("RespondWorkflowTaskCompleted", "err", err)
		}
	}
	return nil
}

// fullPage is the task's events with every further page of history.
func (d *rawDriver) fullPage(ctx context.Context, resp *workflowservice.PollWorkflowTaskQueueResponse) ([]*historypb.HistoryEvent, error) {
	events := resp.GetHistory().GetEvents()
	token := resp.GetNextPageToken()
	for len(token) > 0 {
		page, err := d.svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: d.namespace, Execution: resp.GetWorkflowExecution(), NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("GetWorkflowExecutionHistory: %w", err)
		}
		events = append(events, page.GetHistory().GetEvents()...)
		token = page.GetNextPageToken()
	}
	return events, nil
}

// decide is the workflow's answer to a task whose (new) events are
// events: schedule Echo i+1 after the result of Echo i (Echo 0 when no
// activity ran yet), complete after the last one, fail on an activity
// failure, and nothing while an Echo is pending.
func (d *rawDriver) decide(events []*historypb.HistoryEvent) []*commandpb.Command {
	next, pending := 0, false
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			pending = true
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			pending = false
			i, err := echoIndex(e.GetActivityTaskCompletedEventAttributes().GetResult())
			if err != nil {
				return []*commandpb.Command{failCommand(err.Error())}
			}
			next = i + 1
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			return []*commandpb.Command{failCommand("activity " + e.GetEventType().String())}
		}
	}
	if pending {
		return nil
	}
	if next >= d.count {
		return []*commandpb.Command{{
			CommandType: enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
			Attributes: &commandpb.Command_CompleteWorkflowExecutionCommandAttributes{
				CompleteWorkflowExecutionCommandAttributes: &commandpb.CompleteWorkflowExecutionCommandAttributes{
					Result: payloads(fmt.Sprintf("echo-%d", next-1))}},
		}}
	}
	return []*commandpb.Command{{
		CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
		Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{
			ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
				ActivityId:          strconv.Itoa(next + 1),
				ActivityType:        &commonpb.ActivityType{Name: actEcho},
				TaskQueue:           &taskqueuepb.TaskQueue{Name: d.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				Input:               payloads(fmt.Sprintf("echo-%d", next)),
				StartToCloseTimeout: durationpb.New(rawActTimeout),
			}},
	}}
}

func failCommand(msg string) *commandpb.Command {
	return &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_FailWorkflowExecutionCommandAttributes{
			FailWorkflowExecutionCommandAttributes: &commandpb.FailWorkflowExecutionCommandAttributes{
				Failure: &failurepb.Failure{Message: msg, FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
					ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "BenchError", NonRetryable: true}}}}},
	}
}

// echoIndex reads i from an Echo result "echo-i".
func echoIndex(p *commonpb.Payloads) (int, error) {
	if len(p.GetPayloads()) != 1 {
		return 0, fmt.Errorf("echo result has %d payloads", len(p.GetPayloads()))
	}
	var s string
	if err := json.Unmarshal(p.GetPayloads()[0].GetData(), &s); err != nil {
		return 0, fmt.Errorf("echo result: %w", err)
	}
	n, ok := strings.CutPrefix(s, "echo-")
	i, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, fmt.Errorf("echo result %q", s)
	}
	return i, nil
}

// payloads is v as one json/plain payload, as the SDK's converter makes.
func payloads(v any) *commonpb.Payloads {
	b, _ := json.Marshal(v)
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte(jsonEncoding)}, Data: b}}}
}

func (d *rawDriver) activityPoller(ctx context.Context) error {
	req := &workflowservice.PollActivityTaskQueueRequest{Namespace: d.namespace, Identity: d.identity,
		TaskQueue: &taskqueuepb.TaskQueue{Name: d.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}}
	for ctx.Err() == nil {
		resp, err := d.svc.PollActivityTaskQueue(ctx, req)
		if err != nil {
			if pollErr(ctx, err) {
				continue
			}
			return ctxOr(ctx, fmt.Errorf("PollActivityTaskQueue: %w", err))
		}
		if len(resp.GetTaskToken()) == 0 {
			continue
		}
		_, err = d.svc.RespondActivityTaskCompleted(ctx, &workflowservice.RespondActivityTaskCompletedRequest{
			TaskToken: resp.GetTaskToken(), Namespace: d.namespace, Identity: d.identity, Result: resp.GetInput()})
		if err != nil && ctx.Err() == nil {
			d.log.Warn("RespondActivityTaskCompleted", "err", err)
		}
	}
	return nil
}

// ctxOr is nil once ctx ended (the run is over), else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// runOne starts one workflow (timed) and long-polls its close event.
func (d *rawDriver) runOne(ctx context.Context) outcome {
	id := fmt.Sprintf("%s-%d", d.idPrefix, d.seq.Add(1))
	o := outcome{begin: time.Now()}
	resp, err := d.svc.StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace: d.namespace, WorkflowId: id, Identity: d.identity, RequestId: randomUUID(),
		WorkflowType: &commonpb.WorkflowType{Name: wfActivities},
		TaskQueue:    &taskqueuepb.TaskQueue{Name: d.taskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		Input:        payloads(d.count),
	})
	o.startTook = time.Since(o.begin)
	if err != nil {
		o.end, o.err = time.Now(), fmt.Errorf("start %s: %w", id, err)
		// A server that is down fails every start at once: pause so the
		// runner does not spin (the SDK client backs off likewise).
		pause := time.NewTimer(rawFailurePause)
		defer pause.Stop()
		select {
		case <-ctx.Done():
		case <-pause.C:
		}
		return o
	}
	o.started = true
	err = d.awaitClose(ctx, &commonpb.WorkflowExecution{WorkflowId: id, RunId: resp.GetRunId()})
	o.end = time.Now()
	if err != nil {
		o.err = fmt.Errorf("workflow %s: %w", id, err)
	}
	return o
}

// awaitClose long-polls the run's close event, as the SDK's run.Get does;
// nil when the workflow completed.
func (d *rawDriver) awaitClose(ctx context.Context, ex *commonpb.WorkflowExecution) error {
	var token []byte
	for {
		resp, err := d.svc.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace: d.namespace, Execution: ex, WaitNewEvent: true, NextPageToken: token,
			HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
		})
		if err != nil {
			if status.Code(err) == codes.DeadlineExceeded && ctx.Err() == nil {
				continue // the server's long-poll bound
			}
			return err
		}
		if evs := resp.GetHistory().GetEvents(); len(evs) > 0 {
			last := evs[len(evs)-1]
			if last.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
				return nil
			}
			return errors.New("closed with " + last.GetEventType().String())
		}
		token = resp.GetNextPageToken()
	}
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

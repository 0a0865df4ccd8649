package statemachine

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

func delayedRequest() *workflowservice.StartWorkflowExecutionRequest {
	return &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}, RequestId: "r1",
		WorkflowStartDelay: durationpb.New(2 * time.Second),
	}
}

// SignalWithStart of a new run with a start delay: the signal is written
// at once, the first workflow task when the delay ends.
func TestStartWithSignalHonoursStartDelay(t *testing.T) {
	s, out := StartWithSignal(StartInput{NamespaceID: "ns", RunID: "run", Request: delayedRequest()}, SignalInput{Name: "go"}, t0)
	r := &run{t: t, s: s, now: t0}
	r.record(out, nil)
	if s.WorkflowTask != nil || hasTask(out, TaskWorkflowBackoff) == nil {
		t.Fatal("the first workflow task was not delayed")
	}
	r.advance(2 * time.Second)
	r.record(FireWorkflowBackoff(r.s, r.now))
	r.wantTypes(1, evStarted, evSignaled, evWFTSched)
	if got := r.history[0].GetWorkflowExecutionStartedEventAttributes().GetFirstWorkflowTaskBackoff().AsDuration(); got != 2*time.Second {
		t.Errorf("first_workflow_task_backoff = %v", got)
	}
}

// During a start delay a plain signal is written but waits for the delay;
// a SignalWithStart signal (EndsStartDelay) schedules the task at once,
// and the delay's timer then does nothing.
func TestSignalsDuringStartDelay(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.WorkflowStartDelay = durationpb.New(time.Minute)
	})
	r.record(Signal(r.s, SignalInput{Name: "plain"}, DefaultLimits, r.now))
	if r.s.WorkflowTask != nil || hasTask(r.last, TaskDispatchWorkflowTask) != nil {
		t.Fatal("a plain signal ended the start delay")
	}
	r.record(Signal(r.s, SignalInput{Name: "sws", EndsStartDelay: true}, DefaultLimits, r.now))
	r.wantTypes(1, evStarted, evSignaled, evSignaled, evWFTSched)
	r.advance(time.Minute)
	if out, _ := FireWorkflowBackoff(r.s, r.now); !out.NoChange {
		t.Fatal("the delay's timer scheduled a second first task")
	}
}

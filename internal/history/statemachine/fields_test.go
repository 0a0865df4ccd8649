package statemachine

import (
	"testing"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// scheduleS2COnly schedules activity "a" with only a schedule-to-close
// timeout and returns its scheduled event ID.
func scheduleS2COnly(t *testing.T, r *run, s2c time.Duration) int64 {
	t.Helper()
	ref := r.startWFT("p1")
	r.complete(ref, &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
		Attributes: &commandpb.Command_ScheduleActivityTaskCommandAttributes{ScheduleActivityTaskCommandAttributes: &commandpb.ScheduleActivityTaskCommandAttributes{
			ActivityId: "a", ActivityType: &commonpb.ActivityType{Name: "A"}, ScheduleToCloseTimeout: durationpb.New(s2c),
		}},
	})
	ev := r.history[len(r.history)-1]
	if ev.EventType != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
		t.Fatalf("last event %s, want ActivityTaskScheduled", ev.EventType)
	}
	return ev.EventId
}

// With only schedule-to-close set, schedule-to-start defaults to it and
// both timers are armed for the same instant.
func TestScheduleToCloseOnlyArmsBothTimers(t *testing.T) {
	r := newRun(t, nil)
	id := scheduleS2COnly(t, r, 10*time.Second)
	a := r.history[id-1].GetActivityTaskScheduledEventAttributes()
	for name, d := range map[string]*durationpb.Duration{
		"schedule_to_start": a.GetScheduleToStartTimeout(), "start_to_close": a.GetStartToCloseTimeout(), "schedule_to_close": a.GetScheduleToCloseTimeout(),
	} {
		if d == nil || d.AsDuration() != 10*time.Second {
			t.Errorf("%s = %v, want 10s", name, d)
		}
	}
	if hb := a.GetHeartbeatTimeout(); hb == nil || hb.AsDuration() != 0 {
		t.Errorf("heartbeat_timeout = %v, want 0s set", hb)
	}
	due := map[enumspb.TimeoutType]time.Time{}
	for _, task := range r.last.Tasks {
		if task.Type == TaskActivityTimeout && task.EventID == id {
			due[enumspb.TimeoutType(task.TimeoutType)] = task.Time
		}
	}
	want := r.now.Add(10 * time.Second)
	if !due[enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START].Equal(want) || !due[enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE].Equal(want) {
		t.Fatalf("timeout timers %v, want schedule-to-start and schedule-to-close at %v", due, want)
	}
}

// When schedule-to-start and schedule-to-close are due at the same
// instant, the activity times out with SCHEDULE_TO_START whichever timer
// the queue fires first.
func TestSameInstantTimeoutIsScheduleToStart(t *testing.T) {
	for _, first := range []enumspb.TimeoutType{enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START} {
		t.Run(first.String(), func(t *testing.T) {
			r := newRun(t, nil)
			id := scheduleS2COnly(t, r, 10*time.Second)
			r.advance(10 * time.Second)
			r.record(TimeoutActivity(r.s, id, 1, first, r.now))
			ev := r.history[len(r.history)-2] // then WorkflowTaskScheduled
			if ev.EventType != enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT {
				t.Fatalf("event %s, want ActivityTaskTimedOut", ev.EventType)
			}
			f := ev.GetActivityTaskTimedOutEventAttributes().GetFailure()
			if got := f.GetTimeoutFailureInfo().GetTimeoutType(); got != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
				t.Fatalf("timeout type %s, want SCHEDULE_TO_START", got)
			}
			if f.GetMessage() != "activity ScheduleToStart timeout" {
				t.Fatalf("message %q", f.GetMessage())
			}
		})
	}
}

// A schedule-to-close timer still wins when schedule-to-start is later (a
// retried attempt scheduled after its backoff).
func TestScheduleToCloseBeforeScheduleToStart(t *testing.T) {
	r := newRun(t, nil)
	id := scheduleS2COnly(t, r, 10*time.Second)
	r.s.Activities[id].AttemptScheduledTime = r.now.Add(5 * time.Second)
	r.advance(10 * time.Second)
	r.record(TimeoutActivity(r.s, id, 1, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, r.now))
	ev := r.history[len(r.history)-2]
	if got := ev.GetActivityTaskTimedOutEventAttributes().GetFailure().GetTimeoutFailureInfo().GetTimeoutType(); got != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		t.Fatalf("timeout type %s, want SCHEDULE_TO_CLOSE", got)
	}
}

// Zero durations are written as the reference server writes them, the
// started event of a top-level run names no root, and the start's user
// metadata is on the event and kept for describe.
func TestStartedEventZeroFormsRootAndMetadata(t *testing.T) {
	md := &sdkpb.UserMetadata{Summary: &commonpb.Payload{Data: []byte(`"sum"`)}}
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.WorkflowExecutionTimeout = durationpb.New(0)
		req.UserMetadata = md
	})
	ev := r.history[0]
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	if d := a.GetWorkflowExecutionTimeout(); d == nil || d.AsDuration() != 0 {
		t.Errorf("workflow_execution_timeout = %v, want 0s as sent", d)
	}
	if a.GetWorkflowRunTimeout() != nil {
		t.Errorf("workflow_run_timeout = %v, want unset as sent", a.GetWorkflowRunTimeout())
	}
	if d := a.GetWorkflowTaskTimeout(); d.AsDuration() != DefaultWorkflowTaskTimeout {
		t.Errorf("workflow_task_timeout = %v, want the default", d)
	}
	if d := a.GetFirstWorkflowTaskBackoff(); d == nil || d.AsDuration() != 0 {
		t.Errorf("first_workflow_task_backoff = %v, want 0s", d)
	}
	if a.GetRootWorkflowExecution() != nil {
		t.Errorf("root_workflow_execution = %v, want unset for a top-level run", a.GetRootWorkflowExecution())
	}
	if x := r.s.Execution; x.RootWorkflowID != "wf" || x.RootRunID != "run" {
		t.Errorf("state root = %s/%s, want the run itself", x.RootWorkflowID, x.RootRunID)
	}
	if !proto.Equal(ev.GetUserMetadata(), md) || r.s.UserMetadata == nil {
		t.Errorf("user_metadata = %v, state kept %v", ev.GetUserMetadata(), r.s.UserMetadata != nil)
	}
}

// A child's started event names the root of its tree.
func TestChildStartedEventNamesRoot(t *testing.T) {
	req := &workflowservice.StartWorkflowExecutionRequest{
		WorkflowId: "child", WorkflowType: &commonpb.WorkflowType{Name: "T"}, RequestId: "r",
	}
	_, out := Start(StartInput{NamespaceID: "ns", RunID: "crun", Request: req,
		Parent: &ParentInfo{WorkflowID: "p", RunID: "prun"}, RootWorkflowID: "root", RootRunID: "rrun"}, t0)
	root := out.Events[0].GetWorkflowExecutionStartedEventAttributes().GetRootWorkflowExecution()
	if root.GetWorkflowId() != "root" || root.GetRunId() != "rrun" {
		t.Fatalf("root_workflow_execution = %v, want root/rrun", root)
	}
}

// Command user metadata lands on the command's event; an activity inherits
// the workflow's priority fields its command leaves unset.
func TestCommandMetadataAndPriorityInheritance(t *testing.T) {
	r := newRun(t, func(req *workflowservice.StartWorkflowExecutionRequest) {
		req.Priority = &commonpb.Priority{PriorityKey: 3, FairnessKey: "tenant"}
	})
	ref := r.startWFT("p1")
	md := &sdkpb.UserMetadata{Summary: &commonpb.Payload{Data: []byte(`"timer"`)}}
	timer := startTimer("t", time.Minute)
	timer.UserMetadata = md
	inherit := scheduleActivity("a1", time.Minute, nil)
	own := scheduleActivity("a2", time.Minute, nil)
	own.GetScheduleActivityTaskCommandAttributes().Priority = &commonpb.Priority{PriorityKey: 1}
	r.complete(ref, timer, inherit, own)
	evs := r.history[len(r.history)-3:]
	if !proto.Equal(evs[0].GetUserMetadata(), md) {
		t.Errorf("TimerStarted user_metadata = %v", evs[0].GetUserMetadata())
	}
	if evs[1].GetUserMetadata() != nil {
		t.Errorf("activity without metadata got %v", evs[1].GetUserMetadata())
	}
	if p := evs[1].GetActivityTaskScheduledEventAttributes().GetPriority(); p.GetPriorityKey() != 3 || p.GetFairnessKey() != "tenant" {
		t.Errorf("inherited priority = %v, want key 3 tenant", p)
	}
	if p := evs[2].GetActivityTaskScheduledEventAttributes().GetPriority(); p.GetPriorityKey() != 1 || p.GetFairnessKey() != "tenant" {
		t.Errorf("own priority = %v, want key 1 tenant", p)
	}
}

// A child's initiated event records the filled-in run and task timeouts.
func TestChildInitiatedTimeouts(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	r.complete(ref, &commandpb.Command{
		CommandType: enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
		Attributes: &commandpb.Command_StartChildWorkflowExecutionCommandAttributes{StartChildWorkflowExecutionCommandAttributes: &commandpb.StartChildWorkflowExecutionCommandAttributes{
			WorkflowId: "kid", WorkflowType: &commonpb.WorkflowType{Name: "K"},
			WorkflowExecutionTimeout: durationpb.New(0), WorkflowRunTimeout: durationpb.New(0), WorkflowTaskTimeout: durationpb.New(0),
		}},
	})
	a := r.history[len(r.history)-1].GetStartChildWorkflowExecutionInitiatedEventAttributes()
	if a == nil {
		t.Fatalf("last event %s", r.history[len(r.history)-1].EventType)
	}
	if d := a.GetWorkflowRunTimeout(); d == nil || d.AsDuration() != 0 {
		t.Errorf("workflow_run_timeout = %v, want 0s", d)
	}
	if d := a.GetWorkflowTaskTimeout(); d.AsDuration() != DefaultWorkflowTaskTimeout {
		t.Errorf("workflow_task_timeout = %v, want the 10s default", d)
	}
}

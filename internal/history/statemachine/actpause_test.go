package statemachine

import (
	"errors"
	"strings"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

var (
	retryFailure = &failurepb.Failure{Message: "boom", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{}}}
	byID         = ActivitySelector{ID: "a"}
)

// activityRun is a run with activity "a" (scheduled event 5, start-to-close
// 1 min, retry backoff 10 s), started by a worker when started is set.
func activityRun(t *testing.T, started bool) *run {
	r := newRun(t, nil)
	rp := &commonpb.RetryPolicy{InitialInterval: durationpb.New(10 * time.Second), BackoffCoefficient: 1}
	r.complete(r.startWFT("p1"), scheduleActivity("a", time.Minute, rp))
	if started {
		r.record(StartActivity(r.s, 5, "", "p2", "w", r.now))
	}
	return r
}

func heartbeat(t *testing.T, r *run, attempt int32) HeartbeatAnswer {
	t.Helper()
	out, ans, err := Heartbeat(r.s, ActivityRef{5, attempt}, nil, r.now)
	r.record(out, err)
	return ans
}

func TestPauseStartedActivity(t *testing.T) {
	r := activityRun(t, true)
	out := r.record(PauseActivity(r.s, PauseInput{Selector: byID, Identity: "op", Reason: "why"}, r.now))
	if len(out.Events) != 0 || out.NoChange {
		t.Fatalf("pause must change state and write no events: %+v", out)
	}
	if out, _ := PauseActivity(r.s, PauseInput{Selector: byID, Identity: "other"}, r.now); !out.NoChange || r.s.Activities[5].PauseIdentity != "op" {
		t.Fatal("pausing a paused activity must change nothing")
	}
	if ans := heartbeat(t, r, 1); !ans.Paused || ans.CancelRequested || ans.Reset {
		t.Fatalf("heartbeat of a paused attempt: %+v", ans)
	}
	// The attempt fails (the SDK's answer to the pause): no retry timer.
	r.record(FailActivity(r.s, ActivityRef{5, 1}, retryFailure, nil, "w", r.now))
	ai := r.s.Activities[5]
	if hasTask(r.last, TaskActivityRetry) != nil || ai.Attempt != 2 || ai.Started || !ai.Paused || len(r.last.Events) != 0 {
		t.Fatalf("failure while paused must wait for unpause: %+v %+v", r.last, ai)
	}
	r.advance(time.Hour)
	if out, _ := ActivityRetryDue(r.s, 5, 2, ai.Stamp, r.now); !out.NoChange {
		t.Fatal("a retry timer must not dispatch a paused activity")
	}
	r.record(UnpauseActivity(r.s, UnpauseInput{Selector: byID}, r.now))
	if d := hasTask(r.last, TaskDispatchActivity); d == nil || d.Attempt != 2 || ai.Paused {
		t.Fatalf("unpause must dispatch attempt 2 now: %+v", r.last.Tasks)
	}
	r.record(StartActivity(r.s, 5, "q", "p3", "w", r.now))
	r.record(CompleteActivity(r.s, ActivityRef{5, 2}, nil, "w", r.now))
}

func TestUnpauseRunningWithResetAttempts(t *testing.T) {
	r := activityRun(t, true)
	r.record(PauseActivity(r.s, PauseInput{Selector: byID}, r.now))
	r.record(UnpauseActivity(r.s, UnpauseInput{Selector: byID, ResetAttempts: true}, r.now))
	if ans := heartbeat(t, r, 1); ans.Paused || !ans.Reset {
		t.Fatalf("heartbeat after unpause with reset_attempts: %+v", ans)
	}
	r.record(FailActivity(r.s, ActivityRef{5, 1}, retryFailure, nil, "w", r.now))
	if ai := r.s.Activities[5]; ai.Attempt != 1 || hasTask(r.last, TaskDispatchActivity) == nil {
		t.Fatalf("the attempt count restarts: %+v", ai)
	}
}

func TestPauseWaitingActivity(t *testing.T) {
	r := activityRun(t, false)
	r.record(PauseActivity(r.s, PauseInput{Selector: ActivitySelector{Type: "A"}}, r.now))
	if hasTask(r.last, TaskVisibility) == nil {
		t.Fatal("a pause must rewrite the visibility record (TemporalPauseInfo)")
	}
	if CanDispatchActivity(r.s, 5, "") {
		t.Fatal("a paused activity must not be dispatched")
	}
	if _, err := StartActivity(r.s, 5, "q", "p", "w", r.now); !errors.Is(err, ErrTaskGone) {
		t.Fatalf("a poll of a paused activity: %v", err)
	}
	if out, _ := TimeoutActivity(r.s, 5, 1, enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, r.now.Add(time.Hour)); !out.NoChange {
		t.Fatal("a paused activity does not wait for a worker: no schedule-to-start timeout")
	}
	r.advance(time.Minute)
	r.record(UnpauseActivity(r.s, UnpauseInput{Selector: byID, ResetAttempts: true, Delay: 3 * time.Second}, r.now))
	rt := hasTask(r.last, TaskActivityRetry)
	if rt == nil || rt.Time != r.now.Add(3*time.Second) || rt.Stamp != r.s.Activities[5].Stamp || hasTask(r.last, TaskDispatchActivity) != nil {
		t.Fatalf("unpause with jitter must dispatch after the delay: %+v", r.last.Tasks)
	}
	r.advance(3 * time.Second)
	r.record(ActivityRetryDue(r.s, 5, 1, rt.Stamp, r.now))
	if hasTask(r.last, TaskDispatchActivity) == nil {
		t.Fatal("the jittered dispatch did not happen")
	}
	if out, _ := UnpauseActivity(r.s, UnpauseInput{Selector: byID}, r.now); !out.NoChange {
		t.Fatal("unpausing an unpaused activity must change nothing")
	}
}

func TestActivitySelectors(t *testing.T) {
	r := activityRun(t, false)
	for _, tc := range []struct {
		sel  ActivitySelector
		want error
	}{
		{ActivitySelector{ID: "a"}, nil},
		{ActivitySelector{Type: "A"}, nil},
		{ActivitySelector{All: true}, nil},
		{ActivitySelector{ID: "nope"}, ErrActivityNotFound},
		{ActivitySelector{Type: "Nope"}, ErrActivityNotFound},
	} {
		got, err := selectActivities(r.s, tc.sel)
		if !errors.Is(err, tc.want) || (err == nil && len(got) != 1) {
			t.Errorf("%+v: %v %v", tc.sel, got, err)
		}
	}
	r.record(Terminate(r.s, "done", nil, "op", r.now))
	if _, err := PauseActivity(r.s, PauseInput{Selector: byID}, r.now); !errors.Is(err, ErrClosed) {
		t.Fatalf("pause on a closed run: %v", err)
	}
}

func TestResetActivity(t *testing.T) {
	t.Run("in backoff", func(t *testing.T) {
		r := activityRun(t, true)
		r.record(FailActivity(r.s, ActivityRef{5, 1}, retryFailure, nil, "w", r.now))
		stale := hasTask(r.last, TaskActivityRetry)
		r.advance(time.Second)
		r.record(ResetActivity(r.s, ActivityResetInput{Selector: byID}, r.now))
		ai := r.s.Activities[5]
		if d := hasTask(r.last, TaskDispatchActivity); d == nil || ai.Attempt != 1 || !ai.ScheduledTime.Equal(r.now) {
			t.Fatalf("reset must dispatch attempt 1 now with timeouts from now: %+v %+v", r.last.Tasks, ai)
		}
		r.advance(time.Minute)
		if out, _ := ActivityRetryDue(r.s, 5, stale.Attempt, stale.Stamp, r.now); !out.NoChange {
			t.Fatal("the retry timer from before the reset must be void")
		}
	})
	t.Run("paused kept paused", func(t *testing.T) {
		r := activityRun(t, false)
		r.record(PauseActivity(r.s, PauseInput{Selector: byID}, r.now))
		r.record(ResetActivity(r.s, ActivityResetInput{Selector: byID, KeepPaused: true}, r.now))
		if hasTask(r.last, TaskDispatchActivity) != nil || !r.s.Activities[5].Paused {
			t.Fatal("keep_paused must keep the activity paused and undispatched")
		}
		r.record(ResetActivity(r.s, ActivityResetInput{Selector: byID}, r.now))
		if hasTask(r.last, TaskDispatchActivity) == nil || r.s.Activities[5].Paused {
			t.Fatal("reset without keep_paused unpauses")
		}
	})
	t.Run("started", func(t *testing.T) {
		r := activityRun(t, true)
		for range 2 { // attempt 3 runs
			r.record(FailActivity(r.s, ActivityRef{5, r.s.Activities[5].Attempt}, retryFailure, nil, "w", r.now))
			r.advance(10 * time.Second)
			r.record(ActivityRetryDue(r.s, 5, r.s.Activities[5].Attempt, r.s.Activities[5].Stamp, r.now))
			r.record(StartActivity(r.s, 5, "", "p", "w", r.now))
		}
		details := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("x")}}}
		r.record(func() (Output, error) { o, _, err := Heartbeat(r.s, ActivityRef{5, 3}, details, r.now); return o, err }())
		r.record(ResetActivity(r.s, ActivityResetInput{Selector: byID, ResetHeartbeat: true}, r.now))
		if ans := heartbeat(t, r, 3); !ans.Reset {
			t.Fatal("the running attempt must learn of the reset")
		}
		r.record(FailActivity(r.s, ActivityRef{5, 3}, retryFailure, nil, "w", r.now))
		ai := r.s.Activities[5]
		if hasTask(r.last, TaskDispatchActivity) == nil || ai.Attempt != 1 || ai.ResetRequested || ai.HeartbeatDetails != nil {
			t.Fatalf("a reset attempt's failure restarts at attempt 1 at once: %+v %+v", r.last.Tasks, ai)
		}
	})
}

func TestUpdateActivityOptions(t *testing.T) {
	r := activityRun(t, true)
	upd := func(o *activitypb.ActivityOptions, paths ...string) (*activitypb.ActivityOptions, error) {
		out, opts, err := UpdateActivityOptions(r.s, ActivityOptionsInput{Selector: byID, Options: o, Paths: paths}, r.now)
		if err == nil {
			r.record(out, nil)
		}
		return opts, err
	}
	before := *r.s.Activities[5]
	var oe *OptionsError
	for _, bad := range []struct {
		o     *activitypb.ActivityOptions
		paths []string
	}{
		{&activitypb.ActivityOptions{}, []string{"bogus"}},
		{&activitypb.ActivityOptions{}, []string{"start_to_close_timeout"}}, // no timeout left
		{&activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(-time.Second)}, []string{"start_to_close_timeout"}},
		{&activitypb.ActivityOptions{}, []string{"task_queue"}},
		{&activitypb.ActivityOptions{RetryPolicy: &commonpb.RetryPolicy{MaximumAttempts: -1}}, []string{"retry_policy.maximum_attempts"}},
	} {
		if _, err := upd(bad.o, bad.paths...); !errors.As(err, &oe) {
			t.Errorf("%v: want an options error, got %v", bad.paths, err)
		}
	}
	if got := *r.s.Activities[5]; got.StartToClose != before.StartToClose || got.TaskQueue != before.TaskQueue || got.Retry.MaximumAttempts != 0 {
		t.Fatal("a refused update changed the activity")
	}

	opts, err := upd(&activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(2 * time.Minute),
		RetryPolicy: &commonpb.RetryPolicy{MaximumAttempts: 7}, Priority: &commonpb.Priority{PriorityKey: 2}},
		"start_to_close_timeout", "retry_policy.maximum_attempts", "priority.priority_key")
	if err != nil || opts.GetStartToCloseTimeout().AsDuration() != 2*time.Minute || opts.GetRetryPolicy().GetMaximumAttempts() != 7 ||
		opts.GetRetryPolicy().GetInitialInterval().AsDuration() != 10*time.Second || opts.GetPriority().GetPriorityKey() != 2 {
		t.Fatalf("merged options: %v %v", opts, err)
	}
	if tt := hasTask(r.last, TaskActivityTimeout); tt == nil || tt.Time != r.s.Activities[5].StartedTime.Add(2*time.Minute) {
		t.Fatalf("a longer start-to-close needs a timer at the new deadline: %+v", r.last.Tasks)
	}
	// Moving a waiting activity to another queue re-dispatches it there; a
	// poll of the old queue finds nothing.
	r.record(FailActivity(r.s, ActivityRef{5, 1}, retryFailure, nil, "w", r.now))
	r.advance(10 * time.Second)
	r.record(ActivityRetryDue(r.s, 5, 2, r.s.Activities[5].Stamp, r.now))
	if _, err := upd(&activitypb.ActivityOptions{TaskQueue: &taskqueuepb.TaskQueue{Name: "other"}}, "task_queue.name"); err != nil {
		t.Fatal(err)
	}
	if d := hasTask(r.last, TaskDispatchActivity); d == nil || d.TaskQueue != "other" {
		t.Fatalf("want a dispatch to the new queue: %+v", r.last.Tasks)
	}
	if _, err := StartActivity(r.s, 5, "q", "p", "w", r.now); !errors.Is(err, ErrTaskGone) {
		t.Fatalf("a poll of the old queue: %v", err)
	}
	// restore_original goes back to the scheduled event's options.
	out, opts, err := UpdateActivityOptions(r.s, ActivityOptionsInput{Selector: byID, RestoreOriginal: true}, r.now)
	r.record(out, err)
	if opts.GetTaskQueue().GetName() != "q" || opts.GetStartToCloseTimeout().AsDuration() != time.Minute || opts.GetRetryPolicy().GetMaximumAttempts() != 0 || opts.GetPriority() != nil {
		t.Fatalf("restored options: %v", opts)
	}
}

func TestUpdateWorkflowPriority(t *testing.T) {
	r := newRun(t, nil)
	ref := r.startWFT("p1")
	p, err := MergePriorityMask(WorkflowPriority(r.s), &commonpb.Priority{PriorityKey: 4, FairnessKey: "ignored"}, []string{"priority.priority_key"})
	if err != nil || p.GetPriorityKey() != 4 || p.GetFairnessKey() != "" {
		t.Fatalf("merge: %v %v", p, err)
	}
	// While a workflow task runs the event is buffered.
	out := r.record(UpdateWorkflowPriority(r.s, p, "op", r.now))
	if len(out.Events) != 0 || len(r.s.Buffered) != 1 {
		t.Fatalf("want the event buffered: %+v", out)
	}
	if out, _ := UpdateWorkflowPriority(r.s, p, "op", r.now); !out.NoChange {
		t.Fatal("the same priority again must change nothing")
	}
	r.complete(ref, scheduleActivity("a", time.Minute, nil))
	r.wantTypes(4, evWFTDone, evActSched, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED, evWFTSched)
	ev := r.history[5]
	if !ev.WorkerMayIgnore || ev.GetWorkflowExecutionOptionsUpdatedEventAttributes().GetPriority().GetPriorityKey() != 4 {
		t.Fatalf("options event: %v", ev)
	}
	// No workflow task running: written at once, no new workflow task.
	r.complete(r.startWFT("p2"))
	n := len(r.history)
	p, _ = MergePriorityMask(WorkflowPriority(r.s), nil, []string{"priority"})
	out = r.record(UpdateWorkflowPriority(r.s, p, "op", r.now))
	if len(out.Events) != 1 || hasTask(out, TaskDispatchWorkflowTask) != nil || len(r.history) != n+1 || r.s.Execution.Priority != nil {
		t.Fatalf("unset priority: %+v", out)
	}
	if _, err := MergePriorityMask(nil, nil, []string{"priority.bogus"}); err == nil {
		t.Fatal("an unknown path must be refused")
	}
}

func TestActivityPauseStateDecodesOldRows(t *testing.T) {
	old := []byte(`{"execution":{"status":1},"next_event_id":6,"activities":{"5":{"scheduled_event_id":5,"activity_id":"a","attempt":2}}}`)
	s, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	ai := s.Activities[5]
	if ai.Paused || ai.Stamp != 0 || ai.Priority != nil || ai.ResetRequested {
		t.Fatalf("old rows decode unpaused: %+v", ai)
	}
	b, _ := s.Encode()
	for _, field := range []string{"paused", "pause_time", "stamp", "reset_requested"} {
		if strings.Contains(string(b), `"`+field+`"`) {
			t.Errorf("an unpaused activity encodes %q", field)
		}
	}
}

func TestScheduledPriorityScan(t *testing.T) {
	for _, p := range []*commonpb.Priority{nil, {PriorityKey: 3, FairnessKey: "k", FairnessWeight: 1.5}} {
		attrs := &historypb.ActivityTaskScheduledEventAttributes{ActivityId: "a", Priority: p,
			Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("big input")}}}, StartToCloseTimeout: durationpb.New(time.Second)}
		got := scheduledPriority(mustMarshal(attrs))
		if !proto.Equal(got, p) {
			t.Errorf("scan of %v got %v", p, got)
		}
	}
}

package statemachine

import (
	"fmt"
	"strings"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// OptionsError: an options update names a field it cannot set or leaves
// the options invalid (InvalidArgument with Msg).
type OptionsError struct{ Msg string }

func (e *OptionsError) Error() string { return e.Msg }

// ActivityOptionsOf is an activity's current options as the API shows
// them (describe, UpdateActivityOptions' answer).
func ActivityOptionsOf(ai *ActivityInfo) *activitypb.ActivityOptions {
	return &activitypb.ActivityOptions{
		TaskQueue:              &taskqueuepb.TaskQueue{Name: ai.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		ScheduleToCloseTimeout: durationOrNil(ai.ScheduleToClose),
		ScheduleToStartTimeout: durationOrNil(ai.ScheduleToStart),
		StartToCloseTimeout:    durationOrNil(ai.StartToClose),
		HeartbeatTimeout:       durationOrNil(ai.Heartbeat),
		RetryPolicy:            ai.Retry.Proto(),
		Priority:               ActivityPriority(ai),
	}
}

// ActivityPriority is an activity's effective priority: the one set by
// UpdateActivityOptions, else the scheduled event's.
func ActivityPriority(ai *ActivityInfo) *commonpb.Priority {
	if ai.Priority != nil {
		p := &commonpb.Priority{}
		mustUnmarshal(ai.Priority, p)
		return p
	}
	return scheduledPriority(ai.Scheduled)
}

// scheduledPriorityField is the field number of
// ActivityTaskScheduledEventAttributes.priority.
var scheduledPriorityField = (&historypb.ActivityTaskScheduledEventAttributes{}).ProtoReflect().Descriptor().Fields().ByName("priority").Number()

// scheduledPriority reads the priority out of encoded scheduled-event
// attributes without decoding the rest (the input may be megabytes).
func scheduledPriority(b []byte) *commonpb.Priority {
	var p *commonpb.Priority
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			panic("statemachine: corrupt scheduled activity attributes")
		}
		b = b[n:]
		if num == scheduledPriorityField && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				panic("statemachine: corrupt scheduled activity priority")
			}
			if p == nil {
				p = &commonpb.Priority{}
			}
			// Repeated occurrences of a message field merge, as proto does.
			if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(v, p); err != nil {
				panic("statemachine: corrupt scheduled activity priority: " + err.Error())
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			panic("statemachine: corrupt scheduled activity attributes")
		}
		b = b[m:]
	}
	return p
}

// activityOptionPaths are the update-mask paths of ActivityOptions Sundial
// applies (start_delay is refused by the frontend: Sundial has no
// activity start delay).
var activityOptionPaths = map[string]bool{
	"task_queue": true, "task_queue.name": true,
	"schedule_to_close_timeout": true, "schedule_to_start_timeout": true,
	"start_to_close_timeout": true, "heartbeat_timeout": true,
	"retry_policy": true, "retry_policy.initial_interval": true, "retry_policy.backoff_coefficient": true,
	"retry_policy.maximum_interval": true, "retry_policy.maximum_attempts": true,
	"retry_policy.non_retryable_error_types": true,
	"priority":                               true, "priority.priority_key": true, "priority.fairness_key": true, "priority.fairness_weight": true,
}

// ValidActivityOptionPath reports whether Sundial applies mask path p of
// ActivityOptions.
func ValidActivityOptionPath(p string) bool { return activityOptionPaths[p] }

// MergeActivityOptions applies the fields of upd that paths name to a copy
// of cur. An unknown path is *OptionsError.
func MergeActivityOptions(cur, upd *activitypb.ActivityOptions, paths []string) (*activitypb.ActivityOptions, error) {
	out := proto.Clone(cur).(*activitypb.ActivityOptions)
	if upd == nil {
		upd = &activitypb.ActivityOptions{}
	}
	rp := func() *commonpb.RetryPolicy {
		if out.RetryPolicy == nil {
			out.RetryPolicy = &commonpb.RetryPolicy{}
		}
		return out.RetryPolicy
	}
	for _, p := range paths {
		switch p {
		case "task_queue":
			out.TaskQueue = upd.GetTaskQueue()
		case "task_queue.name":
			out.TaskQueue = &taskqueuepb.TaskQueue{Name: upd.GetTaskQueue().GetName(), Kind: enumspb.TASK_QUEUE_KIND_NORMAL}
		case "schedule_to_close_timeout":
			out.ScheduleToCloseTimeout = upd.GetScheduleToCloseTimeout()
		case "schedule_to_start_timeout":
			out.ScheduleToStartTimeout = upd.GetScheduleToStartTimeout()
		case "start_to_close_timeout":
			out.StartToCloseTimeout = upd.GetStartToCloseTimeout()
		case "heartbeat_timeout":
			out.HeartbeatTimeout = upd.GetHeartbeatTimeout()
		case "retry_policy":
			out.RetryPolicy = upd.GetRetryPolicy()
		case "retry_policy.initial_interval":
			rp().InitialInterval = upd.GetRetryPolicy().GetInitialInterval()
		case "retry_policy.backoff_coefficient":
			rp().BackoffCoefficient = upd.GetRetryPolicy().GetBackoffCoefficient()
		case "retry_policy.maximum_interval":
			rp().MaximumInterval = upd.GetRetryPolicy().GetMaximumInterval()
		case "retry_policy.maximum_attempts":
			rp().MaximumAttempts = upd.GetRetryPolicy().GetMaximumAttempts()
		case "retry_policy.non_retryable_error_types":
			rp().NonRetryableErrorTypes = upd.GetRetryPolicy().GetNonRetryableErrorTypes()
		case "priority", "priority.priority_key", "priority.fairness_key", "priority.fairness_weight":
			var err error
			if out.Priority, err = MergePriorityMask(out.GetPriority(), upd.GetPriority(), []string{p}); err != nil {
				return nil, err
			}
		default:
			return nil, &OptionsError{Msg: fmt.Sprintf("error parsing UpdateMask: path %s not supported", p)}
		}
	}
	return out, nil
}

// MergePriorityMask applies the priority paths ("priority" or
// "priority.<field>") of a mask to a copy of cur. An empty priority is nil.
func MergePriorityMask(cur, upd *commonpb.Priority, paths []string) (*commonpb.Priority, error) {
	out := &commonpb.Priority{}
	if cur != nil {
		out = proto.Clone(cur).(*commonpb.Priority)
	}
	for _, p := range paths {
		switch p {
		case "priority":
			out = &commonpb.Priority{}
			if upd != nil {
				out = proto.Clone(upd).(*commonpb.Priority)
			}
		case "priority.priority_key":
			out.PriorityKey = upd.GetPriorityKey()
		case "priority.fairness_key":
			out.FairnessKey = upd.GetFairnessKey()
		case "priority.fairness_weight":
			out.FairnessWeight = upd.GetFairnessWeight()
		default:
			return nil, &OptionsError{Msg: fmt.Sprintf("error parsing UpdateMask: path %s not supported", p)}
		}
	}
	if proto.Equal(out, &commonpb.Priority{}) {
		return nil, nil
	}
	return out, nil
}

// setActivityOptions makes o (merged and valid) the activity's options.
func setActivityOptions(ai *ActivityInfo, o *activitypb.ActivityOptions) {
	ai.TaskQueue = o.GetTaskQueue().GetName()
	ai.ScheduleToClose = o.GetScheduleToCloseTimeout().AsDuration()
	ai.ScheduleToStart = o.GetScheduleToStartTimeout().AsDuration()
	ai.StartToClose = o.GetStartToCloseTimeout().AsDuration()
	ai.Heartbeat = o.GetHeartbeatTimeout().AsDuration()
	ai.Retry = DefaultRetryPolicy(o.GetRetryPolicy())
	ai.Priority = nil
	if o.GetPriority() != nil {
		ai.Priority = mustMarshal(o.GetPriority())
	}
}

// checkActivityOptions returns the reason merged options are not usable.
func checkActivityOptions(o *activitypb.ActivityOptions) error {
	durations := []struct {
		d    *durationpb.Duration
		name string
	}{{o.GetScheduleToCloseTimeout(), "ScheduleToCloseTimeout"}, {o.GetScheduleToStartTimeout(), "ScheduleToStartTimeout"},
		{o.GetStartToCloseTimeout(), "StartToCloseTimeout"}, {o.GetHeartbeatTimeout(), "HeartbeatTimeout"}}
	for _, d := range durations {
		if d.d != nil && (d.d.CheckValid() != nil || d.d.AsDuration() < 0) {
			return &OptionsError{Msg: fmt.Sprintf("Invalid %s.", d.name)}
		}
	}
	switch {
	case strings.TrimSpace(o.GetTaskQueue().GetName()) == "":
		return &OptionsError{Msg: "TaskQueue is not set on request."}
	case o.GetScheduleToCloseTimeout().AsDuration() <= 0 && o.GetStartToCloseTimeout().AsDuration() <= 0:
		return &OptionsError{Msg: "A valid StartToClose or ScheduleToCloseTimeout is not set on request."}
	}
	if msg := ValidateRetryPolicy(o.GetRetryPolicy()); msg != "" {
		return &OptionsError{Msg: msg}
	}
	return nil
}

// restoreOriginalOptions gives an activity back the options it was
// scheduled with (its ActivityTaskScheduled event).
func restoreOriginalOptions(ai *ActivityInfo) {
	attrs := &historypb.ActivityTaskScheduledEventAttributes{}
	mustUnmarshal(ai.Scheduled, attrs)
	setActivityOptions(ai, &activitypb.ActivityOptions{
		TaskQueue:              attrs.GetTaskQueue(),
		ScheduleToCloseTimeout: attrs.GetScheduleToCloseTimeout(),
		ScheduleToStartTimeout: attrs.GetScheduleToStartTimeout(),
		StartToCloseTimeout:    attrs.GetStartToCloseTimeout(),
		HeartbeatTimeout:       attrs.GetHeartbeatTimeout(),
		RetryPolicy:            attrs.GetRetryPolicy(),
	})
}

// rearm arms the timers and dispatch an options change needs: a new
// deadline for each changed timeout of the current attempt, and for an
// attempt waiting for a worker whose queue or schedule-to-start changed, a
// new dispatch. Timers check their deadline when they fire, so the old
// ones are harmless.
func (m *mutation) rearm(ai, before *ActivityInfo) {
	id := ai.ScheduledEventID
	if ai.ScheduleToClose > 0 && ai.ScheduleToClose != before.ScheduleToClose {
		m.task(Task{Type: TaskActivityTimeout, Time: ai.ScheduledTime.Add(ai.ScheduleToClose), EventID: id,
			TimeoutType: int32(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)})
	}
	if ai.Started {
		if ai.StartToClose > 0 && ai.StartToClose != before.StartToClose {
			m.task(Task{Type: TaskActivityTimeout, Time: ai.StartedTime.Add(ai.StartToClose), EventID: id, Attempt: ai.Attempt,
				TimeoutType: int32(enumspb.TIMEOUT_TYPE_START_TO_CLOSE)})
		}
		if ai.Heartbeat > 0 && ai.Heartbeat != before.Heartbeat {
			from := ai.StartedTime
			if ai.LastHeartbeat.After(from) {
				from = ai.LastHeartbeat
			}
			m.task(Task{Type: TaskActivityTimeout, Time: from.Add(ai.Heartbeat), EventID: id, Attempt: ai.Attempt,
				TimeoutType: int32(enumspb.TIMEOUT_TYPE_HEARTBEAT)})
		}
		return
	}
	if ai.Paused || ai.AttemptScheduledTime.After(m.now) {
		return // dispatched with the new options when unpaused or retried
	}
	// The queued task carries its queue and schedule-to-start expiry: a
	// change of either hands the attempt out anew.
	if ai.TaskQueue != before.TaskQueue || ai.ScheduleToStart != before.ScheduleToStart {
		m.redispatch(ai, 0)
	}
}

// ActivityOptionsInput is an UpdateActivityOptions call: the mask paths of
// Options to apply, or RestoreOriginal.
type ActivityOptionsInput struct {
	Selector        ActivitySelector
	Options         *activitypb.ActivityOptions
	Paths           []string
	RestoreOriginal bool
}

// UpdateActivityOptions changes the options of the selected activities and
// returns those of the last one. Options live in mutable state (no event);
// a started attempt keeps its task queue and gets new deadlines, the next
// attempt is dispatched with the new options.
func UpdateActivityOptions(s *State, in ActivityOptionsInput, now time.Time) (Output, *activitypb.ActivityOptions, error) {
	acts, err := selectActivities(s, in.Selector)
	if err != nil {
		return Output{}, nil, err
	}
	// Every activity's options are checked before any changes, so a bad
	// update leaves the state as it was.
	merged := make([]*activitypb.ActivityOptions, len(acts))
	for i, ai := range acts {
		if in.RestoreOriginal {
			continue
		}
		if merged[i], err = MergeActivityOptions(ActivityOptionsOf(ai), in.Options, in.Paths); err != nil {
			return Output{}, nil, err
		}
		if err := checkActivityOptions(merged[i]); err != nil {
			return Output{}, nil, err
		}
	}
	m := newMutation(s, now)
	var last *activitypb.ActivityOptions
	for i, ai := range acts {
		before := *ai
		if in.RestoreOriginal {
			restoreOriginalOptions(ai)
		} else {
			setActivityOptions(ai, merged[i])
		}
		m.rearm(ai, &before)
		last = ActivityOptionsOf(ai)
	}
	if last == nil {
		return Output{NoChange: true}, nil, nil
	}
	return m.out, last, nil
}

// WorkflowPriority is the run's priority (nil: none).
func WorkflowPriority(s *State) *commonpb.Priority {
	if s.Execution.Priority == nil {
		return nil
	}
	p := &commonpb.Priority{}
	mustUnmarshal(s.Execution.Priority, p)
	return p
}

// UpdateWorkflowPriority sets the run's priority (nil: none), which
// activities scheduled from now on inherit, and records it with a
// WorkflowExecutionOptionsUpdated event (worker_may_ignore: SDKs that do
// not know it skip it). The same priority again changes nothing.
func UpdateWorkflowPriority(s *State, p *commonpb.Priority, identity string, now time.Time) (Output, error) {
	if !s.Running() {
		return Output{}, ErrClosed
	}
	if proto.Equal(WorkflowPriority(s), p) {
		return Output{NoChange: true}, nil
	}
	m := newMutation(s, now)
	s.Execution.Priority = nil
	if p != nil {
		s.Execution.Priority = mustMarshal(p)
	}
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED)
	ev.WorkerMayIgnore = true
	ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionOptionsUpdatedEventAttributes{
		WorkflowExecutionOptionsUpdatedEventAttributes: &historypb.WorkflowExecutionOptionsUpdatedEventAttributes{
			Priority: p, Identity: identity,
		},
	}
	m.record(ev)
	return m.out, nil
}

// record adds an event the workflow need not react to: buffered while a
// workflow task runs, otherwise written without scheduling a workflow task
// (a transient task it overtook is replaced by a written one).
func (m *mutation) record(ev *historypb.HistoryEvent) {
	if m.s.WorkflowTask.Started() {
		m.s.Buffered = append(m.s.Buffered, mustMarshal(ev))
		return
	}
	m.write(ev)
	if wt := m.s.WorkflowTask; wt != nil && wt.Transient {
		m.ensureWorkflowTask()
	}
}

package statemachine

import (
	"fmt"
	"time"

	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	protocolpb "go.temporal.io/api/protocol/v1"
	"google.golang.org/protobuf/proto"
)

// Limits the state machine enforces on commands.
type Limits struct {
	MaxIDLength          int
	MaxPendingActivities int
	MaxPendingChildren   int
	MaxPendingSignals    int
	MaxPendingCancels    int
	MaxSignals           int64
	MaxInFlightUpdates   int
	MaxTotalUpdates      int
	// MaxBlobSize bounds each payload a command carries; a bigger one
	// terminates the run (it could never make progress).
	MaxBlobSize int
	// History limits: past the error limits the run is terminated; past the
	// suggest limits WorkflowTaskStarted suggests continue-as-new.
	MaxHistoryEvents     int64
	MaxHistorySize       int64
	SuggestHistoryEvents int64
	SuggestHistorySize   int64
}

// DefaultLimits are Temporal's defaults.
var DefaultLimits = Limits{
	MaxIDLength: 1000, MaxPendingActivities: 2000, MaxSignals: 10000, MaxBlobSize: 2 << 20,
	MaxPendingChildren: 2000, MaxPendingSignals: 2000, MaxPendingCancels: 2000,
	MaxInFlightUpdates: 10, MaxTotalUpdates: 2000,
	MaxHistoryEvents: 51200, MaxHistorySize: 50 << 20,
	SuggestHistoryEvents: 4096, SuggestHistorySize: 4 << 20,
}

// commandError is a bad command: the workflow task fails with cause.
type commandError struct {
	cause enumspb.WorkflowTaskFailedCause
	msg   string
	// terminate: retrying the task cannot help; the run is terminated.
	terminate bool
}

func badCommand(cause enumspb.WorkflowTaskFailedCause, format string, args ...any) *commandError {
	return &commandError{cause: cause, msg: fmt.Sprintf(format, args...)}
}

// CompleteWorkflowTask applies a worker's completion as one batch: it
// writes WorkflowTaskCompleted and, in order, the events of each command and
// update message, each seeing what the earlier ones did (a cancel of an
// activity scheduled earlier in the batch cancels it). Then it flushes events
// buffered during the task and schedules (and, with ReturnNew, starts) the
// next workflow task when needed. A bad or unsupported command fails the
// workflow task instead and nothing of the completion is applied. A
// speculative task that only rejects updates is dropped: nothing is written.
func CompleteWorkflowTask(s *State, in CompleteInput, lim Limits, now time.Time) (Output, CompleteResult, error) {
	if err := checkStartedWorkflowTask(s, in.Ref); err != nil {
		return Output{}, CompleteResult{}, err
	}
	v, cerr := validateCommands(s, in, lim)
	if cerr != nil {
		return rejectCompletion(s, in, cerr, now)
	}
	if (len(s.Buffered) > 0 || hasAdmittedUpdates(s)) && closesRun(in.Commands) {
		// As the reference: the task fails, the caller gets InvalidArgument
		// "UnhandledCommand" (so the SDK does not count a completion) and a
		// new task carries what arrived.
		const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
		m := newMutation(s, now)
		m.failWorkflowTask(cause, serverFailure(cause.String()), in.Identity, in.BinaryChecksum)
		return m.out, CompleteResult{Rejected: cause.String()}, nil
	}
	if dropsSpeculativeTask(s, in) {
		return completeSpeculative(s, in, lim, now)
	}
	// Commands the validator could only check provisionally (they name what
	// an earlier command of the batch creates) are checked again as they are
	// applied; if one fails there, the state kept here is restored.
	var before []byte
	if v.provisional {
		before = mustEncode(s)
	}
	m := newMutation(s, now)
	if cerr := m.applyCompletion(in, lim); cerr != nil {
		if before == nil {
			panic("statemachine: a fully validated command failed to apply: " + cerr.msg)
		}
		*s = *mustDecode(before)
		return rejectCompletion(s, in, cerr, now)
	}
	return m.out, CompleteResult{}, nil
}

// rejectCompletion fails the workflow task for a bad command; a command
// that can never succeed terminates the run.
func rejectCompletion(s *State, in CompleteInput, cerr *commandError, now time.Time) (Output, CompleteResult, error) {
	m := newMutation(s, now)
	m.failWorkflowTask(cerr.cause, &failurepb.Failure{Message: cerr.msg, Source: "Server"}, in.Identity, in.BinaryChecksum)
	if cerr.terminate {
		m.s.WorkflowTask = nil
		m.out.Tasks = nil // nothing of the retry is needed
		m.terminate(cerr.msg, nil, "sundial")
	}
	return m.out, CompleteResult{Rejected: cerr.msg}, nil
}

func serverFailure(msg string) *failurepb.Failure {
	return &failurepb.Failure{Message: msg, Source: "Server", FailureInfo: &failurepb.Failure_ServerFailureInfo{
		ServerFailureInfo: &failurepb.ServerFailureInfo{NonRetryable: true}}}
}

// applyCompletion applies a validated completion to the started task. It
// returns the first command that turns out bad once the earlier ones are
// applied; the state is then half-changed and must be discarded.
func (m *mutation) applyCompletion(in CompleteInput, lim Limits) *commandError {
	s, wt := m.s, m.s.WorkflowTask
	if in.EagerActivities {
		m.eager = &eagerWorker{identity: in.Identity}
	}
	m.writeTransient()
	ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
	ev.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{
		WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
			ScheduledEventId: wt.ScheduledEventID,
			StartedEventId:   wt.StartedEventID,
			Identity:         in.Identity,
			BinaryChecksum:   in.BinaryChecksum,
			SdkMetadata:      in.SdkMetadata,
			MeteringMetadata: in.MeteringMetadata,
		},
	}
	completedID := m.write(ev)
	s.LastCompletedWFTStartedEventID = wt.StartedEventID
	s.WorkflowTask = nil
	s.Execution.StickyTaskQueue = in.StickyTaskQueue
	s.Execution.StickyScheduleToStart = in.StickyScheduleToStart

	for _, c := range in.Commands {
		if id := c.GetProtocolMessageCommandAttributes().GetMessageId(); id != "" {
			if msg := findMessage(in.Messages, id); msg != nil {
				m.applyUpdateMessage(msg, completedID)
			}
			continue
		}
		if cerr := m.applyCommand(c, completedID, in.NextRunID); cerr != nil {
			return cerr
		}
		if m.out.Closed {
			break // a closing command is last
		}
	}
	// Messages no command named (update rejections) are answered even after
	// the run closed: their callers wait for them.
	m.applyMessages(in.Messages, in.Commands, completedID)
	if m.out.Closed || m.checkHistoryLimits(lim) {
		return nil
	}
	readmitted := m.readmitUpdates()
	if m.flushBuffered() || in.ForceCreate || m.needWorkflowTask || readmitted {
		m.scheduleWorkflowTask(1, false)
	}
	m.maybeReturnNew(in, lim)
	return nil
}

// maybeReturnNew starts a workflow task scheduled by this transition right
// away when the worker asked for it, instead of dispatching it.
func (m *mutation) maybeReturnNew(in CompleteInput, lim Limits) {
	wt := m.s.WorkflowTask
	if !in.ReturnNew || !m.scheduledWorkflowTask || wt == nil || wt.Started() {
		return
	}
	n := len(m.out.Tasks)
	if n == 0 || m.out.Tasks[n-1].Type != TaskDispatchWorkflowTask || m.out.Tasks[n-1].EventID != wt.ScheduledEventID {
		return // backed off: leave it to its timer
	}
	m.out.Tasks = m.out.Tasks[:n-1]
	m.startWorkflowTask("return-new", in.Identity, lim)
	m.out.NewWorkflowTaskStarted = true
}

// checkHistoryLimits terminates a run whose history grew past the limits
// and reports whether it did.
func (m *mutation) checkHistoryLimits(lim Limits) bool {
	switch {
	case lim.MaxHistoryEvents > 0 && m.s.NextEventID-1 > lim.MaxHistoryEvents:
		m.terminate("Workflow history count exceeds limit.", nil, "sundial")
	case lim.MaxHistorySize > 0 && m.s.HistorySize > lim.MaxHistorySize:
		m.terminate("Workflow history size exceeds limit.", nil, "sundial")
	default:
		return false
	}
	return true
}

func closesRun(cmds []*commandpb.Command) bool {
	for _, c := range cmds {
		switch c.GetCommandType() {
		case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
			enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
			enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
			enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
			return true
		}
	}
	return false
}

// validateCommands checks every command before any is applied, so a bad
// command changes nothing but the task's failure. It follows what the
// batch creates as far as it can without applying it (activity and timer
// IDs, pending counts); a reference it cannot resolve that an earlier
// command may satisfy marks the validator provisional.
func validateCommands(s *State, in CompleteInput, lim Limits) (*validator, *commandError) {
	v := validator{s: s, lim: lim, activityIDs: map[string]bool{}, timers: map[string]bool{}, validateSA: in.ValidateSearchAttributes}
	for _, a := range s.Activities {
		v.activityIDs[a.ActivityID] = true
	}
	for id := range s.Timers {
		v.timers[id] = true
	}
	v.pending = len(s.Activities)
	v.children, v.signals, v.cancels = len(s.Children), len(s.ExternalSignals), len(s.ExternalCancels)
	for i, c := range in.Commands {
		if cerr := v.check(c, i == len(in.Commands)-1); cerr != nil {
			return nil, cerr
		}
		if cerr := checkBlobSizes(c, lim); cerr != nil {
			return nil, cerr
		}
	}
	return &v, nil
}

// checkBlobSizes rejects a command whose payload is over the blob limit.
func checkBlobSizes(c *commandpb.Command, lim Limits) *commandError {
	if lim.MaxBlobSize <= 0 {
		return nil
	}
	var blob proto.Message
	cause := enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED
	switch c.GetCommandType() {
	case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
		blob, cause = c.GetScheduleActivityTaskCommandAttributes().GetInput(), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
		blob, cause = c.GetCompleteWorkflowExecutionCommandAttributes().GetResult(), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES
	case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
		blob, cause = c.GetFailWorkflowExecutionCommandAttributes().GetFailure(), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES
	case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
		blob, cause = c.GetCancelWorkflowExecutionCommandAttributes().GetDetails(), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES
	case enumspb.COMMAND_TYPE_RECORD_MARKER:
		blob, cause = c.GetRecordMarkerCommandAttributes(), enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES
	default:
		return nil
	}
	if proto.Size(blob) > lim.MaxBlobSize {
		return &commandError{cause: cause, msg: fmt.Sprintf("%s: Blob data size exceeds limit.", c.GetCommandType()), terminate: true}
	}
	return nil
}

type validator struct {
	validateSA  func(*commonpb.SearchAttributes) string
	s           *State
	lim         Limits
	activityIDs map[string]bool
	timers      map[string]bool
	pending     int
	children    int
	signals     int
	cancels     int
	// scheduled counts activities scheduled earlier in the batch.
	scheduled int
	// provisional: a command names something only an earlier command of
	// the batch can have created; it is checked again when applied.
	provisional bool
}

func (v *validator) startChild(a *commandpb.StartChildWorkflowExecutionCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
	switch {
	case a == nil:
		return badCommand(cause, "StartChildWorkflowExecutionCommandAttributes is not set on command.")
	case a.GetWorkflowId() == "":
		return badCommand(cause, "Required field WorkflowId is not set on command.")
	case a.GetWorkflowType().GetName() == "":
		return badCommand(cause, "Required field WorkflowType is not set on command.")
	case len(a.GetWorkflowId()) > v.lim.MaxIDLength || len(a.GetWorkflowType().GetName()) > v.lim.MaxIDLength:
		return badCommand(cause, "WorkflowId or WorkflowType exceeds length limit.")
	case a.GetWorkflowExecutionTimeout().AsDuration() < 0 || a.GetWorkflowRunTimeout().AsDuration() < 0 || a.GetWorkflowTaskTimeout().AsDuration() < 0:
		return badCommand(cause, "An invalid timeout is set on command.")
	}
	if msg := ValidateRetryPolicy(a.GetRetryPolicy()); msg != "" {
		return badCommand(cause, "%s", msg)
	}
	if a.GetCronSchedule() != "" {
		if _, err := ParseCron(a.GetCronSchedule()); err != nil {
			return badCommand(cause, "invalid CronSchedule.")
		}
	}
	if cerr := v.searchAttributes(a.GetSearchAttributes()); cerr != nil {
		return cerr
	}
	if v.children++; v.children > v.lim.MaxPendingChildren {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_CHILD_WORKFLOWS_LIMIT_EXCEEDED,
			"PendingChildWorkflowsLimitExceeded: the workflow has more than %d pending child workflows", v.lim.MaxPendingChildren)
	}
	return nil
}

func (v *validator) signalExternal(a *commandpb.SignalExternalWorkflowExecutionCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES
	switch {
	case a == nil:
		return badCommand(cause, "SignalExternalWorkflowExecutionCommandAttributes is not set on command.")
	case a.GetExecution().GetWorkflowId() == "":
		return badCommand(cause, "WorkflowId is not set on command.")
	case a.GetSignalName() == "":
		return badCommand(cause, "SignalName is not set on command.")
	}
	if v.signals++; v.signals > v.lim.MaxPendingSignals {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_SIGNALS_LIMIT_EXCEEDED,
			"PendingSignalsLimitExceeded: the workflow has more than %d pending external signals", v.lim.MaxPendingSignals)
	}
	return nil
}

func (v *validator) cancelExternal(a *commandpb.RequestCancelExternalWorkflowExecutionCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
	if a == nil || a.GetWorkflowId() == "" {
		return badCommand(cause, "WorkflowId is not set on command.")
	}
	if v.cancels++; v.cancels > v.lim.MaxPendingCancels {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_REQUEST_CANCEL_LIMIT_EXCEEDED,
			"PendingRequestCancelLimitExceeded: the workflow has more than %d pending external cancel requests", v.lim.MaxPendingCancels)
	}
	return nil
}

func (v *validator) check(c *commandpb.Command, last bool) *commandError {
	switch c.GetCommandType() {
	case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
		return v.scheduleActivity(c.GetScheduleActivityTaskCommandAttributes())
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
		return v.cancelActivity(c.GetRequestCancelActivityTaskCommandAttributes())
	case enumspb.COMMAND_TYPE_START_TIMER:
		return v.startTimer(c.GetStartTimerCommandAttributes())
	case enumspb.COMMAND_TYPE_CANCEL_TIMER:
		return v.cancelTimer(c.GetCancelTimerCommandAttributes())
	case enumspb.COMMAND_TYPE_RECORD_MARKER:
		if c.GetRecordMarkerCommandAttributes().GetMarkerName() == "" {
			return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES, "MarkerName is not set on command.")
		}
		return nil
	case enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		sa := c.GetUpsertWorkflowSearchAttributesCommandAttributes().GetSearchAttributes()
		if len(sa.GetIndexedFields()) == 0 {
			return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, "SearchAttributes is not set on command.")
		}
		return v.searchAttributes(sa)
	case enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
		if c.GetModifyWorkflowPropertiesCommandAttributes().GetUpsertedMemo() == nil {
			return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES, "UpsertedMemo is not set on command.")
		}
		return nil
	case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
		return v.startChild(c.GetStartChildWorkflowExecutionCommandAttributes())
	case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
		return v.signalExternal(c.GetSignalExternalWorkflowExecutionCommandAttributes())
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
		return v.cancelExternal(c.GetRequestCancelExternalWorkflowExecutionCommandAttributes())
	case enumspb.COMMAND_TYPE_PROTOCOL_MESSAGE:
		if c.GetProtocolMessageCommandAttributes().GetMessageId() == "" {
			return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE, "MessageId is not set on command.")
		}
		return nil
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
		return closeMustBeLast(last, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES)
	case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
		if c.GetFailWorkflowExecutionCommandAttributes().GetFailure() == nil {
			return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES, "Failure is not set on command.")
		}
		return closeMustBeLast(last, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES)
	case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
		return closeMustBeLast(last, enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES)
	case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
		a := c.GetContinueAsNewWorkflowExecutionCommandAttributes()
		const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
		switch {
		case a == nil:
			return badCommand(cause, "ContinueAsNewWorkflowExecutionCommandAttributes is not set on command.")
		case a.GetWorkflowRunTimeout().AsDuration() < 0 || a.GetWorkflowTaskTimeout().AsDuration() < 0 || a.GetBackoffStartInterval().AsDuration() < 0:
			return badCommand(cause, "An invalid timeout is set on the continue-as-new command.")
		}
		if msg := ValidateRetryPolicy(a.GetRetryPolicy()); msg != "" {
			return badCommand(cause, "%s", msg)
		}
		if cerr := v.searchAttributes(a.GetSearchAttributes()); cerr != nil {
			return cerr
		}
		return closeMustBeLast(last, cause)
	}
	return unsupported(c.GetCommandType())
}

// searchAttributes fails the task with BAD_SEARCH_ATTRIBUTES when a
// command's search attributes are not valid for the namespace (upsert,
// start child, continue-as-new), as the reference server does.
func (v *validator) searchAttributes(sa *commonpb.SearchAttributes) *commandError {
	if v.validateSA == nil || len(sa.GetIndexedFields()) == 0 {
		return nil
	}
	if msg := v.validateSA(sa); msg != "" {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, "%s", msg)
	}
	return nil
}

func closeMustBeLast(last bool, cause enumspb.WorkflowTaskFailedCause) *commandError {
	if !last {
		return badCommand(cause, "a command that closes the workflow must be the last command")
	}
	return nil
}

// unsupported names commands this server does not implement yet, with the
// cause the SDK reports for that command type.
func unsupported(t enumspb.CommandType) *commandError {
	cause := enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED
	switch t {
	case enumspb.COMMAND_TYPE_SCHEDULE_NEXUS_OPERATION:
		cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_NEXUS_OPERATION_ATTRIBUTES
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_NEXUS_OPERATION:
		cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_NEXUS_OPERATION_ATTRIBUTES
	}
	return badCommand(cause, "command %s is not supported by this server yet", t.String())
}

func (v *validator) scheduleActivity(a *commandpb.ScheduleActivityTaskCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
	switch {
	case a == nil:
		return badCommand(cause, "ScheduleActivityTaskCommandAttributes is not set on command.")
	case a.GetActivityId() == "":
		return badCommand(cause, "ActivityId is not set on command.")
	case a.GetActivityType().GetName() == "":
		return badCommand(cause, "ActivityType is not set on command.")
	case len(a.GetActivityId()) > v.lim.MaxIDLength:
		return badCommand(cause, "ActivityID exceeds length limit.")
	case len(a.GetActivityType().GetName()) > v.lim.MaxIDLength:
		return badCommand(cause, "ActivityType exceeds length limit.")
	case len(a.GetTaskQueue().GetName()) > v.lim.MaxIDLength:
		return badCommand(cause, "TaskQueue exceeds length limit.")
	case a.GetScheduleToCloseTimeout().AsDuration() < 0:
		return badCommand(cause, "An invalid ScheduleToCloseTimeout is set on command.")
	case a.GetScheduleToStartTimeout().AsDuration() < 0:
		return badCommand(cause, "An invalid ScheduleToStartTimeout is set on command.")
	case a.GetStartToCloseTimeout().AsDuration() < 0:
		return badCommand(cause, "An invalid StartToCloseTimeout is set on command.")
	case a.GetHeartbeatTimeout().AsDuration() < 0:
		return badCommand(cause, "An invalid HeartbeatTimeout is set on command.")
	case a.GetScheduleToCloseTimeout().AsDuration() == 0 && a.GetStartToCloseTimeout().AsDuration() == 0:
		return badCommand(cause, "A valid StartToClose or ScheduleToCloseTimeout is not set on command.")
	}
	if msg := ValidateRetryPolicy(a.GetRetryPolicy()); msg != "" {
		return badCommand(cause, "%s", msg)
	}
	if v.activityIDs[a.GetActivityId()] {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_SCHEDULE_ACTIVITY_DUPLICATE_ID,
			"Activity with ID %s is already pending.", a.GetActivityId())
	}
	v.activityIDs[a.GetActivityId()] = true
	v.pending++
	v.scheduled++
	if v.pending > v.lim.MaxPendingActivities {
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_PENDING_ACTIVITIES_LIMIT_EXCEEDED,
			"PendingActivitiesLimitExceeded: the workflow has more than %d pending activities", v.lim.MaxPendingActivities)
	}
	return nil
}

func (v *validator) cancelActivity(a *commandpb.RequestCancelActivityTaskCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES
	if a == nil || a.GetScheduledEventId() <= 0 {
		return badCommand(cause, "ScheduledEventId is not set on command.")
	}
	if _, ok := v.s.Activities[a.GetScheduledEventId()]; ok {
		return nil
	}
	m := mutation{s: v.s}
	if m.bufferedActivityResult(a.GetScheduledEventId()) {
		return nil
	}
	if v.scheduled > 0 && a.GetScheduledEventId() >= v.s.NextEventID {
		// Perhaps an activity this batch schedules: its event ID is only
		// known once the commands before it are applied.
		v.provisional = true
		return nil
	}
	return noPendingActivity(a.GetScheduledEventId())
}

func noPendingActivity(scheduledEventID int64) *commandError {
	return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
		"no pending activity with scheduled event ID %d", scheduledEventID)
}

func (v *validator) startTimer(a *commandpb.StartTimerCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
	switch {
	case a == nil:
		return badCommand(cause, "StartTimerCommandAttributes is not set on command.")
	case a.GetTimerId() == "":
		return badCommand(cause, "TimerId is not set on command.")
	case len(a.GetTimerId()) > v.lim.MaxIDLength:
		return badCommand(cause, "TimerId exceeds length limit.")
	case a.GetStartToFireTimeout().AsDuration() <= 0:
		return badCommand(cause, "An invalid StartToFireTimeout is set on command.")
	case v.timers[a.GetTimerId()]:
		return badCommand(enumspb.WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID, "Timer with ID %s is already pending.", a.GetTimerId())
	}
	v.timers[a.GetTimerId()] = true
	return nil
}

func (v *validator) cancelTimer(a *commandpb.CancelTimerCommandAttributes) *commandError {
	const cause = enumspb.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES
	if a == nil || a.GetTimerId() == "" {
		return badCommand(cause, "TimerId is not set on command.")
	}
	if v.timers[a.GetTimerId()] {
		delete(v.timers, a.GetTimerId())
		return nil
	}
	for _, b := range v.s.Buffered {
		ev := &historypb.HistoryEvent{}
		mustUnmarshal(b, ev)
		if ev.GetTimerFiredEventAttributes().GetTimerId() == a.GetTimerId() {
			return nil
		}
	}
	return badCommand(cause, "no pending timer with ID %s", a.GetTimerId())
}

func findMessage(msgs []*protocolpb.Message, id string) *protocolpb.Message {
	for _, msg := range msgs {
		if msg.GetId() == id {
			return msg
		}
	}
	return nil
}

// hasAdmittedUpdates reports updates that arrived after the current task
// started: a task that closes the run has not seen them.
func hasAdmittedUpdates(s *State) bool {
	for _, u := range s.Updates {
		if u.Stage == UpdateAdmitted {
			return true
		}
	}
	return false
}

// mustEncode and mustDecode keep a copy of the state to restore when a
// batch turns out bad half-way; the encoding is the stored one, so the
// copy is exact.
func mustEncode(s *State) []byte {
	b, err := s.Encode()
	if err != nil {
		panic("statemachine: encode state: " + err.Error())
	}
	return b
}

func mustDecode(b []byte) *State {
	s, err := Decode(b)
	if err != nil {
		panic("statemachine: decode state: " + err.Error())
	}
	return s
}

package statemachine

import (
	commandpb "go.temporal.io/api/command/v1"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// applyCommand turns one validated command into events, state and tasks.
// The command's user metadata (summary, details) goes on the first event
// the command writes, as the reference server does, and to a child's start.
// It re-checks what the validator could accept only provisionally, against
// the state the earlier commands of the batch left, and returns the error
// if the command is bad after all (the caller then discards the state).
func (m *mutation) applyCommand(c *commandpb.Command, completedID int64, nextRunID string) *commandError {
	first := len(m.out.Events)
	m.metadata = c.GetUserMetadata()
	cerr := m.applyCommandAttributes(c, completedID, nextRunID)
	m.metadata = nil
	if cerr != nil {
		return cerr
	}
	if md := c.GetUserMetadata(); md != nil && len(m.out.Events) > first {
		ev := m.out.Events[first]
		before := proto.Size(ev)
		ev.UserMetadata = md
		m.s.HistorySize += int64(proto.Size(ev) - before)
	}
	return nil
}

func (m *mutation) applyCommandAttributes(c *commandpb.Command, completedID int64, nextRunID string) *commandError {
	switch c.GetCommandType() {
	case enumspb.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
		m.scheduleActivity(c.GetScheduleActivityTaskCommandAttributes(), completedID)
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
		id := c.GetRequestCancelActivityTaskCommandAttributes().GetScheduledEventId()
		if _, ok := m.s.Activities[id]; !ok && !m.bufferedActivityResult(id) {
			return noPendingActivity(id)
		}
		m.requestCancelActivity(id, completedID)
	case enumspb.COMMAND_TYPE_START_TIMER:
		m.startTimer(c.GetStartTimerCommandAttributes(), completedID)
	case enumspb.COMMAND_TYPE_CANCEL_TIMER:
		m.cancelTimer(c.GetCancelTimerCommandAttributes().GetTimerId(), completedID)
	case enumspb.COMMAND_TYPE_RECORD_MARKER:
		a := c.GetRecordMarkerCommandAttributes()
		ev := m.event(enumspb.EVENT_TYPE_MARKER_RECORDED)
		ev.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{
			MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName:                   a.GetMarkerName(),
				Details:                      a.GetDetails(),
				WorkflowTaskCompletedEventId: completedID,
				Header:                       a.GetHeader(),
				Failure:                      a.GetFailure(),
			},
		}
		m.write(ev)
	case enumspb.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		m.upsertSearchAttributes(c.GetUpsertWorkflowSearchAttributesCommandAttributes().GetSearchAttributes(), completedID)
	case enumspb.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
		m.startChild(c.GetStartChildWorkflowExecutionCommandAttributes(), completedID)
	case enumspb.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
		m.signalExternal(c.GetSignalExternalWorkflowExecutionCommandAttributes(), completedID)
	case enumspb.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
		m.cancelExternal(c.GetRequestCancelExternalWorkflowExecutionCommandAttributes(), completedID)
	case enumspb.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES:
		m.modifyProperties(c.GetModifyWorkflowPropertiesCommandAttributes().GetUpsertedMemo(), completedID)
	case enumspb.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION:
		m.completeRun(c.GetCompleteWorkflowExecutionCommandAttributes().GetResult(), completedID, nextRunID)
	case enumspb.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION:
		m.failRun(c.GetFailWorkflowExecutionCommandAttributes().GetFailure(), completedID, nextRunID)
	case enumspb.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION:
		m.continueAsNew(c.GetContinueAsNewWorkflowExecutionCommandAttributes(), completedID, nextRunID)
	case enumspb.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION:
		ev := m.event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED)
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionCanceledEventAttributes{
			WorkflowExecutionCanceledEventAttributes: &historypb.WorkflowExecutionCanceledEventAttributes{
				Details:                      c.GetCancelWorkflowExecutionCommandAttributes().GetDetails(),
				WorkflowTaskCompletedEventId: completedID,
			},
		}
		m.close(ev, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED)
	default:
		panic("statemachine: applyCommand on an unvalidated command " + c.GetCommandType().String())
	}
	return nil
}

// upsertSearchAttributes merges attributes into the run's and records the
// upsert. (Typed validation against registered attributes comes with
// namespace search-attribute registration.)
func (m *mutation) upsertSearchAttributes(sa *commonpb.SearchAttributes, completedID int64) {
	mergeSearchAttributes(m.s, sa)
	m.task(Task{Type: TaskVisibility})
	ev := m.event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
	ev.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{
		UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			WorkflowTaskCompletedEventId: completedID,
			SearchAttributes:             sa,
		},
	}
	m.write(ev)
}

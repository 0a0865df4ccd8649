package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// identity is the identity the scheduler's calls carry.
const identity = "temporal-scheduler"

// actionWorkflowID is the ID of the workflow an action starts: the
// action's workflow ID plus the nominal time to the second (as the
// reference), unless the policies keep the original ID.
func actionWorkflowID(st *state, nominal time.Time) string {
	id := st.sched.GetAction().GetStartWorkflow().GetWorkflowId()
	if st.sched.GetPolicies().GetKeepOriginalWorkflowId() {
		return id
	}
	return id + "-" + nominal.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func jsonPayload(v string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(v)}
}

// startRequest builds the start of buffered action b: the action's
// workflow with the scheduled start time and the schedule's ID added to
// its search attributes.
func startRequest(st *state, scheduleID string, b bufferedStart) *workflowservice.StartWorkflowExecutionRequest {
	nw := st.sched.GetAction().GetStartWorkflow()
	fields := maps.Clone(nw.GetSearchAttributes().GetIndexedFields())
	if fields == nil {
		fields = map[string]*commonpb.Payload{}
	}
	fields["TemporalScheduledStartTime"] = jsonPayload(fmt.Sprintf("%q", b.Actual.UTC().Format(time.RFC3339Nano)))
	fields["TemporalScheduledById"] = jsonPayload(fmt.Sprintf("%q", scheduleID))
	return &workflowservice.StartWorkflowExecutionRequest{
		Namespace:                st.Namespace,
		WorkflowId:               actionWorkflowID(st, b.Nominal),
		WorkflowType:             nw.GetWorkflowType(),
		TaskQueue:                nw.GetTaskQueue(),
		Input:                    nw.GetInput(),
		WorkflowExecutionTimeout: nw.GetWorkflowExecutionTimeout(),
		WorkflowRunTimeout:       nw.GetWorkflowRunTimeout(),
		WorkflowTaskTimeout:      nw.GetWorkflowTaskTimeout(),
		Identity:                 identity,
		RequestId:                b.RequestID,
		WorkflowIdReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		RetryPolicy:              nw.GetRetryPolicy(),
		Memo:                     nw.GetMemo(),
		SearchAttributes:         &commonpb.SearchAttributes{IndexedFields: fields},
		Header:                   nw.GetHeader(),
		UserMetadata:             nw.GetUserMetadata(),
		VersioningOverride:       nw.GetVersioningOverride(),
		Priority:                 nw.GetPriority(),
		LastCompletionResult:     st.lastCompletionResult(),
		ContinuedFailure:         st.continuedFailure(),
	}
}

// start takes action b. A workflow ID already running for another
// request (e.g. a backfill of a time that already ran and still runs) is
// not an error: the action is dropped, as the reference does.
func (s *Service) start(ctx context.Context, st *state, scheduleID string, b bufferedStart, now time.Time) error {
	req := startRequest(st, scheduleID, b)
	resp, err := s.wf.StartWorkflowExecution(ctx, req)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		s.log.Info("schedule: action's workflow is already running", "schedule_id", scheduleID, "workflow_id", req.WorkflowId)
		return nil
	}
	if permanent(err) {
		// Retrying cannot help (e.g. the task queue name is refused):
		// drop the action instead of retrying it forever.
		s.log.Warn("schedule: action refused, dropped", "schedule_id", scheduleID, "workflow_id", req.WorkflowId, "error", err)
		return nil
	}
	if err != nil {
		return err
	}
	st.ActionCount++
	if !b.Manual && st.sched.GetState().GetLimitedActions() {
		st.sched.State.RemainingActions--
	}
	st.Running = append(st.Running, runRef{WorkflowID: req.WorkflowId, RunID: resp.GetRunId()})
	st.addRecent(recentAction{Scheduled: b.Actual, Actual: now, WorkflowID: req.WorkflowId, RunID: resp.GetRunId(),
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING})
	return nil
}

// permanent reports an error a retry of the same start cannot fix.
func permanent(err error) bool {
	var invalid *serviceerror.InvalidArgument
	var nsNotFound *serviceerror.NamespaceNotFound
	var precondition *serviceerror.FailedPrecondition
	return errors.As(err, &invalid) || errors.As(err, &nsNotFound) || errors.As(err, &precondition)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// terminateRunning terminates every running workflow of the schedule
// (TERMINATE_OTHER); one already closed counts as terminated.
func (s *Service) terminateRunning(ctx context.Context, st *state, scheduleID string) error {
	for len(st.Running) > 0 {
		r := st.Running[0]
		_, err := s.wf.TerminateWorkflowExecution(ctx, &workflowservice.TerminateWorkflowExecutionRequest{
			Namespace:         st.Namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
			Reason:            "terminated by schedule overlap policy",
			Identity:          identity,
		})
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil {
			st.setRecentStatus(r.WorkflowID, r.RunID, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED)
		}
		st.Running = st.Running[1:]
	}
	return nil
}

// cancelRunning asks every running workflow to cancel (CANCEL_OTHER),
// once each; the waiting start runs when they have closed.
func (s *Service) cancelRunning(ctx context.Context, st *state, scheduleID string) error {
	for i := range st.Running {
		r := &st.Running[i]
		if r.CancelRequested {
			continue
		}
		_, err := s.wf.RequestCancelWorkflowExecution(ctx, &workflowservice.RequestCancelWorkflowExecutionRequest{
			Namespace:         st.Namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
			Identity:          identity,
			RequestId:         "schedule-cancel-" + r.RunID,
			Reason:            "cancelled by schedule overlap policy",
		})
		if err != nil && !isNotFound(err) {
			return err
		}
		r.CancelRequested = true
	}
	return nil
}

// refreshRunning drops the running workflows that have closed (all of
// them, or only the newest when all is false), records their final
// status among the recent actions and their outcome for the next
// actions, and pauses the schedule when one failed or timed out and
// pause_on_failure is set.
func (s *Service) refreshRunning(ctx context.Context, st *state, scheduleID string, all bool) {
	kept := st.Running[:0]
	for i, r := range st.Running {
		if !all && i < len(st.Running)-1 {
			kept = append(kept, r)
			continue
		}
		status, err := s.runStatus(ctx, st.Namespace, r)
		switch {
		case isNotFound(err):
			continue
		case err != nil:
			s.log.Warn("schedule: describing running workflow", "schedule_id", scheduleID, "workflow_id", r.WorkflowID, "error", err)
			kept = append(kept, r)
			continue
		case status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			kept = append(kept, r)
			continue
		}
		st.setRecentStatus(r.WorkflowID, r.RunID, status)
		s.recordOutcome(ctx, st, r, status)
		failed := status == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED || status == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT
		if failed && st.sched.GetPolicies().GetPauseOnFailure() && !st.paused() {
			st.sched.State.Paused = true
			st.sched.State.Notes = fmt.Sprintf("paused due to workflow failure: %s: %s", r.WorkflowID, status)
		}
	}
	if len(kept) > maxTrackedRunning {
		kept = kept[len(kept)-maxTrackedRunning:]
	}
	st.Running = kept
}

// runStatus is the status of the run the schedule started.
func (s *Service) runStatus(ctx context.Context, namespace string, r runRef) (enumspb.WorkflowExecutionStatus, error) {
	resp, err := s.wf.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
	})
	if err != nil {
		return 0, err
	}
	return resp.GetWorkflowExecutionInfo().GetStatus(), nil
}

// recordOutcome keeps a closed action's result or failure for the next
// actions (workflow.GetLastCompletionResult / GetLastError), as the
// reference: a completion replaces the last result and clears the
// failure; a failure or timeout replaces the failure and keeps the
// result; cancel and terminate change neither. A close event that cannot
// be read is logged and skipped (the next action then sees older values).
func (s *Service) recordOutcome(ctx context.Context, st *state, r runRef, status enumspb.WorkflowExecutionStatus) {
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
	default:
		return
	}
	resp, err := s.wf.GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace:              st.Namespace,
		Execution:              &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
		HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
		SkipArchival:           true,
	})
	if err != nil {
		s.log.Warn("schedule: reading an action's close event", "workflow_id", r.WorkflowID, "error", err)
		return
	}
	events := resp.GetHistory().GetEvents()
	if len(events) == 0 {
		return
	}
	ev := events[len(events)-1]
	switch {
	case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
		st.LastCompletion = marshalOrNil(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
		st.ContinuedFailure = nil
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		st.ContinuedFailure = marshalOrNil(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure())
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		st.ContinuedFailure = marshalOrNil(&failurepb.Failure{Message: "workflow timed out",
			FailureInfo: &failurepb.Failure_TimeoutFailureInfo{TimeoutFailureInfo: &failurepb.TimeoutFailureInfo{
				TimeoutType: enumspb.TIMEOUT_TYPE_START_TO_CLOSE}}})
	}
}

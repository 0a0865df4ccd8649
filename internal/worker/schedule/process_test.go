package schedule

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	schedulepb "go.temporal.io/api/schedule/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/persistence"
)

// fakeWorkflows records the scheduler's calls; every run stays running.
type fakeWorkflows struct {
	started    []*workflowservice.StartWorkflowExecutionRequest
	terminated []string
	cancelled  []string
}

func (f *fakeWorkflows) StartWorkflowExecution(_ context.Context, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	f.started = append(f.started, req)
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "run-" + req.RequestId}, nil
}

func (f *fakeWorkflows) DescribeWorkflowExecution(_ context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (f *fakeWorkflows) GetWorkflowExecutionHistory(_ context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return &workflowservice.GetWorkflowExecutionHistoryResponse{}, nil
}

func (f *fakeWorkflows) TerminateWorkflowExecution(_ context.Context, req *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	f.terminated = append(f.terminated, req.WorkflowExecution.WorkflowId)
	return &workflowservice.TerminateWorkflowExecutionResponse{}, nil
}

func (f *fakeWorkflows) RequestCancelWorkflowExecution(_ context.Context, req *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	f.cancelled = append(f.cancelled, req.WorkflowExecution.WorkflowId)
	return &workflowservice.RequestCancelWorkflowExecutionResponse{}, nil
}

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testState is a schedule firing every second from t0.
func testState(t *testing.T, policy enumspb.ScheduleOverlapPolicy, window time.Duration) *state {
	t.Helper()
	sched, spec, err := normalize(&schedulepb.Schedule{
		Spec: &schedulepb.ScheduleSpec{Interval: []*schedulepb.IntervalSpec{{Interval: durationpb.New(time.Second)}}},
		Action: &schedulepb.ScheduleAction{Action: &schedulepb.ScheduleAction_StartWorkflow{StartWorkflow: &workflowpb.NewWorkflowExecutionInfo{
			WorkflowId: "wf", WorkflowType: &commonpb.WorkflowType{Name: "T"}, TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}}}},
		Policies: &schedulepb.SchedulePolicies{OverlapPolicy: policy, CatchupWindow: durationpb.New(window)},
	})
	require.NoError(t, err)
	return &state{Namespace: "ns", UID: "uid", LastProcessed: t0, sched: sched, spec: spec}
}

func TestCatchupWindowSkipsOldTimes(t *testing.T) {
	st := testState(t, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, 10*time.Second)
	require.False(t, takeSpecActions(st, t0.Add(60*time.Second), "s"))
	require.EqualValues(t, 49, st.MissedCatchup, "t0+1s .. t0+49s are more than 10 s late")
	require.Len(t, st.Buffer, 11)
	require.Equal(t, t0.Add(50*time.Second), st.Buffer[0].Nominal)
	require.Equal(t, t0.Add(60*time.Second), st.LastProcessed)

	// A recomputation from the same state gives the same request IDs:
	// that is what makes a start redone after a crash dedup.
	again := testState(t, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, 10*time.Second)
	takeSpecActions(again, t0.Add(60*time.Second), "s")
	require.Equal(t, st.Buffer, again.Buffer)
}

func TestPausedAndLimitedSchedulesTakeNoSpecActions(t *testing.T) {
	st := testState(t, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, time.Hour)
	st.sched.State.Paused = true
	takeSpecActions(st, t0.Add(5*time.Second), "s")
	require.Empty(t, st.Buffer)
	require.Equal(t, t0.Add(5*time.Second), st.LastProcessed)

	st = testState(t, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, time.Hour)
	st.sched.State.LimitedActions, st.sched.State.RemainingActions = true, 2
	takeSpecActions(st, t0.Add(5*time.Second), "s")
	require.Len(t, st.Buffer, 2)
}

func runPolicy(t *testing.T, policy enumspb.ScheduleOverlapPolicy) (*state, *fakeWorkflows) {
	t.Helper()
	f := &fakeWorkflows{}
	s, err := New(Options{Store: nilStore{}})
	require.NoError(t, err)
	s.SetWorkflows(f)
	st := testState(t, policy, time.Hour)
	now := t0.Add(3 * time.Second)
	takeSpecActions(st, now, "s")
	require.NoError(t, s.runBuffer(context.Background(), st, "s", now))
	return st, f
}

func TestOverlapPolicies(t *testing.T) {
	st, f := runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP)
	require.Len(t, f.started, 1)
	require.Equal(t, "wf-2026-06-01T12:00:01Z", f.started[0].WorkflowId)
	require.EqualValues(t, 2, st.OverlapSkipped)
	require.Empty(t, st.Buffer)

	st, f = runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE)
	require.Len(t, f.started, 1)
	require.Len(t, st.Buffer, 1)
	require.EqualValues(t, 1, st.OverlapSkipped)

	st, f = runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL)
	require.Len(t, f.started, 1)
	require.Len(t, st.Buffer, 2)

	st, f = runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL)
	require.Len(t, f.started, 3)
	require.Len(t, st.Running, 3)

	st, f = runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
	require.Len(t, f.started, 3)
	require.Equal(t, []string{"wf-2026-06-01T12:00:01Z", "wf-2026-06-01T12:00:02Z"}, f.terminated)
	require.Len(t, st.Running, 1)

	st, f = runPolicy(t, enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER)
	require.Len(t, f.started, 1)
	require.Equal(t, []string{"wf-2026-06-01T12:00:01Z"}, f.cancelled)
	require.Len(t, st.Buffer, 2)

	sa := f.started[0].SearchAttributes.IndexedFields
	require.Equal(t, `"s"`, string(sa["TemporalScheduledById"].Data))
	require.Equal(t, `"2026-06-01T12:00:01Z"`, string(sa["TemporalScheduledStartTime"].Data))
}

// nilStore satisfies New; the tests here never reach the store.
type nilStore struct{ persistence.ScheduleStore }

// closedWorkflows answers describe with each run's status and the close
// event history with its event.
type closedWorkflows struct {
	fakeWorkflows
	status map[string]enumspb.WorkflowExecutionStatus
	close  map[string]*historypb.HistoryEvent
}

func (c *closedWorkflows) DescribeWorkflowExecution(_ context.Context, req *workflowservice.DescribeWorkflowExecutionRequest) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: c.status[req.Execution.WorkflowId]}}, nil
}

func (c *closedWorkflows) GetWorkflowExecutionHistory(_ context.Context, req *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	return &workflowservice.GetWorkflowExecutionHistoryResponse{History: &historypb.History{
		Events: []*historypb.HistoryEvent{c.close[req.Execution.WorkflowId]}}}, nil
}

// TestOutcomesCarriedToTheNextAction: a completion replaces the last
// result and clears the failure, a failure keeps the result, a
// termination changes neither; the next start carries both.
func TestOutcomesCarriedToTheNextAction(t *testing.T) {
	result := &commonpb.Payloads{Payloads: []*commonpb.Payload{jsonPayload("1")}}
	boom := &failurepb.Failure{Message: "boom"}
	c := &closedWorkflows{
		status: map[string]enumspb.WorkflowExecutionStatus{"ok": enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			"bad": enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, "killed": enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED},
		close: map[string]*historypb.HistoryEvent{
			"ok": {Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{
				WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{Result: result}}},
			"bad": {Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
				WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{Failure: boom}}},
		},
	}
	s, err := New(Options{Store: nilStore{}})
	require.NoError(t, err)
	s.SetWorkflows(c)
	st := testState(t, enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, time.Hour)
	st.ContinuedFailure = marshalOrNil(boom)
	st.Running = []runRef{{WorkflowID: "ok"}, {WorkflowID: "bad"}, {WorkflowID: "killed"}}
	s.refreshRunning(t.Context(), st, "s", true)
	require.Empty(t, st.Running)
	req := startRequest(st, "s", bufferedStart{Nominal: t0, Actual: t0})
	require.True(t, proto.Equal(result, req.LastCompletionResult), "%v", req.LastCompletionResult)
	require.True(t, proto.Equal(boom, req.ContinuedFailure), "the failure after the completion stays: %v", req.ContinuedFailure)

	st.Running = []runRef{{WorkflowID: "ok"}}
	s.refreshRunning(t.Context(), st, "s", true)
	req = startRequest(st, "s", bufferedStart{Nominal: t0, Actual: t0})
	require.Nil(t, req.ContinuedFailure, "a completion clears the failure")
	require.True(t, proto.Equal(result, req.LastCompletionResult))
}

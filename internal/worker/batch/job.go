// Package batch runs batch operations (StartBatchOperation): terminate,
// cancel, signal, delete, reset, update the options of, or unpause, reset
// or update the options of the activities of every workflow execution a visibility
// query or an explicit list names, at a bounded rate, with progress that
// survives restarts.
//
// A job is a row of persistence.BatchStore written by the frontend. The
// Worker (the worker role) runs every running job: it walks the targets
// in a deterministic order (WorkflowId, RunId for a query; list order for
// a list), acts on each through the public API (Client), and writes its
// progress (counts and the position of the last target done) as it goes.
// After a restart a job goes on after that position. Targets done after
// the last progress write but before a crash are acted on again; every
// action is idempotent on the target (terminate, cancel and delete of a
// closed run change nothing; signal and reset carry a request ID derived
// from the job and the run, which the run dedups), so no execution is
// acted on twice. Updating options and unpausing are idempotent too; an
// activity reset repeated after a crash resets the activity again (the
// reference's ResetActivity carries no request ID to dedup it).
package batch

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/proto"
)

// EncodeRequest is a job's definition as stored (persistence.BatchJob.Data).
func EncodeRequest(req *workflowservice.StartBatchOperationRequest) ([]byte, error) {
	return proto.Marshal(req)
}

// DecodeRequest reads a job's definition back.
func DecodeRequest(data []byte) (*workflowservice.StartBatchOperationRequest, error) {
	req := &workflowservice.StartBatchOperationRequest{}
	if err := proto.Unmarshal(data, req); err != nil {
		return nil, fmt.Errorf("batch: undecodable job definition: %w", err)
	}
	return req, nil
}

// OperationType is the type DescribeBatchOperation and
// ListBatchOperations report for req's operation: the workflow-specific
// values (TERMINATE_WORKFLOW, ...), as the reference server reports with
// this API version. UNSPECIFIED for an operation this package does not run.
func OperationType(req *workflowservice.StartBatchOperationRequest) enumspb.BatchOperationType {
	switch req.GetOperation().(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		return enumspb.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		return enumspb.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		return enumspb.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		return enumspb.BATCH_OPERATION_TYPE_DELETE_WORKFLOW
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return enumspb.BATCH_OPERATION_TYPE_RESET_WORKFLOW
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		return enumspb.BATCH_OPERATION_TYPE_UPDATE_WORKFLOW_EXECUTION_OPTIONS
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		return enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		return enumspb.BATCH_OPERATION_TYPE_RESET_ACTIVITY
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		return enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS
	}
	return enumspb.BATCH_OPERATION_TYPE_UNSPECIFIED
}

// Identity is the operator identity of req (its operation's identity).
func Identity(req *workflowservice.StartBatchOperationRequest) string {
	switch op := req.GetOperation().(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		return op.TerminationOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		return op.CancellationOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		return op.SignalOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		return op.DeletionOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return op.ResetOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		return op.UpdateWorkflowOptionsOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		return op.UnpauseActivitiesOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		return op.ResetActivitiesOperation.GetIdentity()
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		return op.UpdateActivityOptionsOperation.GetIdentity()
	}
	return ""
}

// RunningOnly reports whether the operation acts only on open runs: a
// query is narrowed to ExecutionStatus = 'Running' for these, as on the
// reference server (and for the options and activity operations, which a
// closed run refuses anyway).
func RunningOnly(t enumspb.BatchOperationType) bool {
	switch t {
	case enumspb.BATCH_OPERATION_TYPE_TERMINATE_WORKFLOW, enumspb.BATCH_OPERATION_TYPE_CANCEL_WORKFLOW, enumspb.BATCH_OPERATION_TYPE_SIGNAL_WORKFLOW,
		enumspb.BATCH_OPERATION_TYPE_UPDATE_WORKFLOW_EXECUTION_OPTIONS, enumspb.BATCH_OPERATION_TYPE_UNPAUSE_ACTIVITY,
		enumspb.BATCH_OPERATION_TYPE_RESET_ACTIVITY, enumspb.BATCH_OPERATION_TYPE_UPDATE_ACTIVITY_OPTIONS:
		return true
	}
	return false
}

// TargetQuery is the visibility query a job with user query q walks (and
// counts) for operation t.
func TargetQuery(q string, t enumspb.BatchOperationType) string {
	if RunningOnly(t) {
		return "(" + q + ") AND (ExecutionStatus = 'Running')"
	}
	return q
}

// Executions is the explicit target list of req: executions, then
// target_executions of workflows (type WORKFLOW or unspecified; the
// frontend refuses others).
func Executions(req *workflowservice.StartBatchOperationRequest) []*commonpb.WorkflowExecution {
	out := append([]*commonpb.WorkflowExecution(nil), req.GetExecutions()...)
	for _, e := range req.GetTargetExecutions() {
		if IsWorkflow(e) {
			out = append(out, &commonpb.WorkflowExecution{WorkflowId: e.GetBusinessId(), RunId: e.GetRunId()})
		}
	}
	return out
}

// TargetExecutions is the explicit target list of req in the unified
// form DescribeBatchOperation reports it.
func TargetExecutions(req *workflowservice.StartBatchOperationRequest) []*commonpb.Execution {
	var out []*commonpb.Execution
	for _, e := range Executions(req) {
		out = append(out, &commonpb.Execution{Type: enumspb.EXECUTION_TYPE_WORKFLOW, BusinessId: e.GetWorkflowId(), RunId: e.GetRunId()})
	}
	return out
}

// IsWorkflow reports whether a target execution names a workflow.
func IsWorkflow(e *commonpb.Execution) bool {
	t := e.GetType()
	return t == enumspb.EXECUTION_TYPE_WORKFLOW || t == enumspb.EXECUTION_TYPE_UNSPECIFIED
}

// cursor is a job's resume position (persistence.BatchProgress.Cursor):
// the last target done, by (WorkflowID, RunID) for a query and by index
// for a list. The zero cursor starts at the beginning.
type cursor struct {
	WorkflowID string `json:"w,omitempty"`
	RunID      string `json:"r,omitempty"`
	Index      int    `json:"i,omitempty"` // targets of a list done
}

func decodeCursor(b []byte) (cursor, error) {
	var c cursor
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("batch: undecodable cursor: %w", err)
	}
	return c, nil
}

func (c cursor) encode() []byte {
	b, _ := json.Marshal(c) // strings and ints always marshal
	return b
}

// requestNamespace roots the request IDs of batch actions.
var requestNamespace = uuid.MustParse("6f1c7c39-8a4e-4b8e-9d55-2f1e0b7c0a11")

// requestID is the request ID of the job's action on one run: the same on
// every attempt, so the run dedups an action repeated after a crash.
func requestID(namespaceID, jobID string, exec *commonpb.WorkflowExecution) string {
	key := fmt.Sprintf("%d:%s|%d:%s|%d:%s|%s", len(namespaceID), namespaceID, len(jobID), jobID,
		len(exec.GetWorkflowId()), exec.GetWorkflowId(), exec.GetRunId())
	return uuid.NewSHA1(requestNamespace, []byte(key)).String()
}

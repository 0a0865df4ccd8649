package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	batchpb "go.temporal.io/api/batch/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/worker/batch"
)

const (
	keyMaxConcurrentBatch     = "frontend.MaxConcurrentBatchOperationPerNamespace"
	defaultMaxConcurrentBatch = 1
	keyMaxBatchExecutions     = "frontend.MaxExecutionCountBatchOperationPerNamespace"
	defaultMaxBatchExecutions = 1000
)

// Messages as the reference server words them.
var (
	errBatchNotConfigured     = serviceerror.NewUnimplemented("Batch operations are not configured on this server.")
	errBatchRequired          = serviceerror.NewInvalidArgument("must provide required parameters: BatchType/Reason/Namespace/Query/Executions")
	errBatchJobIDNotSet       = serviceerror.NewInvalidArgument("JobId is not set on request.")
	errBatchFiltersBothSet    = serviceerror.NewInvalidArgument("Workflow executions and visibility filter are both set on request. Only one of them is allowed.")
	errBatchTooManyExecutions = serviceerror.NewInvalidArgument("Workflow executions count exceeded.")
	errBatchSignalNameNotSet  = serviceerror.NewInvalidArgument("must provide signal name")
	errBatchResetNoTarget     = serviceerror.NewInvalidArgument("batch reset missing target")
	errBatchReasonNotSet      = serviceerror.NewInvalidArgument("Reason is not set on request.")
	errBatchActivityNotSet    = serviceerror.NewInvalidArgument("Either activity type or match_all should be set on request.")
	errBatchConcurrentLimit   = &serviceerror.ResourceExhausted{Cause: enumspb.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
		Scope: enumspb.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE, Message: "Max concurrent batch operations is reached"}
	errBatchNotFound     = serviceerror.NewNotFound("workflow execution not found")
	errBatchAlreadyEnded = serviceerror.NewNotFound("workflow execution already completed")
)

// BatchWorker is told when a batch job is created or stopped, so it acts at
// once instead of at its next scan.
type BatchWorker interface{ Notify() }

// StartBatchOperation records a batch job; the worker role runs it. The
// job ID is unique in the namespace for good (as the reference's
// REJECT_DUPLICATE system workflow): reusing it is AlreadyExists.
func (h *Handler) StartBatchOperation(ctx context.Context, req *workflowservice.StartBatchOperationRequest) (*workflowservice.StartBatchOperationResponse, error) {
	if h.opts.BatchJobs == nil || h.opts.Visibility == nil || h.opts.SearchAttributes == nil {
		return nil, errBatchNotConfigured
	}
	if err := h.validateBatch(req); err != nil {
		return nil, err
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	total := int64(len(batch.Executions(req)))
	if req.GetVisibilityQuery() != "" {
		if total, err = h.countBatchTargets(ctx, ns, req); err != nil {
			return nil, err
		}
	}
	running, err := h.opts.BatchJobs.CountRunningBatchJobs(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	if running >= int64(h.opts.Dynamic.Int(keyMaxConcurrentBatch, defaultMaxConcurrentBatch)) {
		return nil, errBatchConcurrentLimit
	}
	data, err := batch.EncodeRequest(req)
	if err != nil {
		return nil, err
	}
	job := &persistence.BatchJob{NamespaceID: ns.ID, JobID: req.GetJobId(), State: persistence.BatchJobRunning,
		StartTime: time.Now(), Data: data, Progress: persistence.BatchProgress{Total: total}}
	err = h.opts.BatchJobs.CreateBatchJob(ctx, job)
	if errors.Is(err, persistence.ErrAlreadyExists) {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted(
			fmt.Sprintf("Batch operation already exists. JobId: %s.", req.GetJobId()), "", "")
	}
	if err != nil {
		return nil, err
	}
	if h.opts.BatchWorker != nil {
		h.opts.BatchWorker.Notify()
	}
	return &workflowservice.StartBatchOperationResponse{}, nil
}

// countBatchTargets parses the job's query (InvalidArgument when bad) and
// counts the runs it targets now: the job's estimated total.
func (h *Handler) countBatchTargets(ctx context.Context, ns *namespace.Namespace, req *workflowservice.StartBatchOperationRequest) (int64, error) {
	q, err := h.parseQuery(ctx, ns.ID, batch.TargetQuery(req.GetVisibilityQuery(), batch.OperationType(req)))
	if err != nil {
		return 0, err
	}
	if len(q.GroupBy) > 0 {
		return 0, serviceerror.NewInvalidArgument("invalid query: GROUP BY is not supported by batch operations")
	}
	n, err := h.opts.Visibility.CountVisibility(ctx, ns.ID, q)
	if err != nil {
		return 0, err
	}
	return n.Count, nil
}

// validateBatch checks a StartBatchOperation request in the reference
// server's order. Operations Sundial cannot run answer Unimplemented.
func (h *Handler) validateBatch(req *workflowservice.StartBatchOperationRequest) error {
	hasList := len(req.GetExecutions()) > 0 || len(req.GetTargetExecutions()) > 0
	if req.GetOperation() == nil || req.GetReason() == "" || req.GetNamespace() == "" || (req.GetVisibilityQuery() == "" && !hasList) {
		return errBatchRequired
	}
	lim := h.limits()
	if err := validateRequiredID(req.GetJobId(), "JobId", lim); err != nil {
		return err
	}
	if req.GetVisibilityQuery() != "" && hasList {
		return errBatchFiltersBothSet
	}
	if len(req.GetReason()) > lim.blobSizeError {
		return errReasonTooLong
	}
	if err := validateBatchOperation(req, lim); err != nil {
		return err
	}
	if len(req.GetExecutions())+len(req.GetTargetExecutions()) > h.opts.Dynamic.Int(keyMaxBatchExecutions, defaultMaxBatchExecutions) {
		return errBatchTooManyExecutions
	}
	for i, e := range req.GetTargetExecutions() {
		if !batch.IsWorkflow(e) {
			return serviceerror.NewInvalidArgument(fmt.Sprintf("target_executions[%d]: execution type %s does not match the workflow batch operation.", i, e.GetType()))
		}
	}
	for _, e := range batch.Executions(req) {
		if err := validateExecution(e.GetWorkflowId(), e.GetRunId(), true, lim); err != nil {
			return err
		}
	}
	return nil
}

func validateBatchOperation(req *workflowservice.StartBatchOperationRequest, lim limits) error {
	switch op := req.GetOperation().(type) {
	case *workflowservice.StartBatchOperationRequest_TerminationOperation:
		return validateOptionalID(op.TerminationOperation.GetIdentity(), "Identity", lim)
	case *workflowservice.StartBatchOperationRequest_CancellationOperation:
		return validateOptionalID(op.CancellationOperation.GetIdentity(), "Identity", lim)
	case *workflowservice.StartBatchOperationRequest_DeletionOperation:
		return validateOptionalID(op.DeletionOperation.GetIdentity(), "Identity", lim)
	case *workflowservice.StartBatchOperationRequest_SignalOperation:
		sig := op.SignalOperation
		if sig.GetSignal() == "" {
			return errBatchSignalNameNotSet
		}
		if err := validateSignal(sig.GetSignal(), "", sig.GetIdentity(), sig.GetInput(), lim); err != nil {
			return err
		}
		return validateBlob(sig.GetHeader(), lim)
	case *workflowservice.StartBatchOperationRequest_ResetOperation:
		return validateBatchReset(op.ResetOperation, lim)
	case *workflowservice.StartBatchOperationRequest_UpdateWorkflowOptionsOperation:
		o := op.UpdateWorkflowOptionsOperation
		if _, err := workflowOptionPaths(o.GetWorkflowExecutionOptions(), o.GetUpdateMask()); err != nil {
			return err
		}
		return validateOptionalID(o.GetIdentity(), "Identity", lim)
	case *workflowservice.StartBatchOperationRequest_UnpauseActivitiesOperation:
		o := op.UnpauseActivitiesOperation
		return validateBatchActivities(o.GetType(), o.GetMatchAll(), o.GetIdentity(), o.GetJitter(), lim)
	case *workflowservice.StartBatchOperationRequest_ResetActivitiesOperation:
		o := op.ResetActivitiesOperation
		return validateBatchActivities(o.GetType(), o.GetMatchAll(), o.GetIdentity(), o.GetJitter(), lim)
	case *workflowservice.StartBatchOperationRequest_UpdateActivityOptionsOperation:
		o := op.UpdateActivityOptionsOperation
		if _, err := activityOptionsInput(o.GetActivityOptions(), o.GetUpdateMask(), o.GetRestoreOriginal(), lim); err != nil {
			return err
		}
		return validateBatchActivities(o.GetType(), o.GetMatchAll(), o.GetIdentity(), nil, lim)
	}
	name := "unknown"
	if f := req.ProtoReflect().WhichOneof(req.ProtoReflect().Descriptor().Oneofs().ByName("operation")); f != nil {
		name = string(f.Name())
	}
	return serviceerror.NewUnimplemented(fmt.Sprintf("Batch operation %s is not supported by this server.", name))
}

// validateBatchActivities checks the activities part of a batch activity
// operation: a type or match_all, the identity and the jitter.
func validateBatchActivities(typ string, all bool, identity string, jitter *durationpb.Duration, lim limits) error {
	if typ == "" && !all {
		return errBatchActivityNotSet
	}
	if len(typ) > lim.maxIDLength {
		return serviceerror.NewInvalidArgument("ActivityType length exceeds limit.")
	}
	if _, err := jitterDelay(jitter); err != nil {
		return err
	}
	return validateOptionalID(identity, "Identity", lim)
}

func validateBatchReset(op *batchpb.BatchOperationReset, lim limits) error {
	if o := op.GetOptions(); o != nil {
		if o.GetTarget() == nil {
			return errBatchResetNoTarget
		}
		if o.GetBuildId() != "" {
			return serviceerror.NewUnimplemented("Batch reset to a build ID is not supported by this server.")
		}
	} else if t := op.GetResetType(); t != enumspb.RESET_TYPE_FIRST_WORKFLOW_TASK && t != enumspb.RESET_TYPE_LAST_WORKFLOW_TASK {
		return serviceerror.NewInvalidArgument(fmt.Sprintf("unknown batch reset type %v", t))
	}
	for _, p := range op.GetPostResetOperations() {
		sig := p.GetSignalWorkflow()
		if sig == nil {
			return errBadPostResetOp
		}
		if err := validateSignal(sig.GetSignalName(), "", "", sig.GetInput(), lim); err != nil {
			return err
		}
	}
	return validateOptionalID(op.GetIdentity(), "Identity", lim)
}

// StopBatchOperation stops a running job: it closes as failed (the
// reference terminates the job's system workflow, which describes as
// FAILED) and its runner stops before its next action.
func (h *Handler) StopBatchOperation(ctx context.Context, req *workflowservice.StopBatchOperationRequest) (*workflowservice.StopBatchOperationResponse, error) {
	if h.opts.BatchJobs == nil {
		return nil, errBatchNotConfigured
	}
	switch {
	case req.GetJobId() == "":
		return nil, errBatchJobIDNotSet
	case req.GetNamespace() == "":
		return nil, errNamespaceNotSet
	case req.GetReason() == "":
		return nil, errBatchReasonNotSet
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	err = h.opts.BatchJobs.CloseBatchJob(ctx, ns.ID, req.GetJobId(), persistence.BatchJobFailed, time.Now(), nil)
	switch {
	case errors.Is(err, persistence.ErrNotFound):
		return nil, errBatchNotFound
	case errors.Is(err, persistence.ErrConditionFailed):
		return nil, errBatchAlreadyEnded
	case err != nil:
		return nil, err
	}
	h.logger.Info("batch operation stopped", "namespace", ns.Name, "job_id", req.GetJobId(),
		"reason", req.GetReason(), "identity", req.GetIdentity())
	if h.opts.BatchWorker != nil {
		h.opts.BatchWorker.Notify()
	}
	return &workflowservice.StopBatchOperationResponse{}, nil
}

// DescribeBatchOperation reports a job's definition (its query, or its
// target list in the unified Execution form), state and progress.
func (h *Handler) DescribeBatchOperation(ctx context.Context, req *workflowservice.DescribeBatchOperationRequest) (*workflowservice.DescribeBatchOperationResponse, error) {
	if h.opts.BatchJobs == nil {
		return nil, errBatchNotConfigured
	}
	switch {
	case req.GetJobId() == "":
		return nil, errBatchJobIDNotSet
	case req.GetNamespace() == "":
		return nil, errNamespaceNotSet
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	job, err := h.opts.BatchJobs.GetBatchJob(ctx, ns.ID, req.GetJobId())
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, errBatchNotFound
	}
	if err != nil {
		return nil, err
	}
	def, err := batch.DecodeRequest(job.Data)
	if err != nil {
		return nil, err
	}
	p := job.Progress
	return &workflowservice.DescribeBatchOperationResponse{
		OperationType: batch.OperationType(def), JobId: job.JobID, State: enumspb.BatchOperationState(job.State),
		StartTime: timestamp(job.StartTime), CloseTime: timestamp(job.CloseTime),
		TotalOperationCount: p.Total, CompleteOperationCount: p.Completed, FailureOperationCount: p.Failed,
		Identity: batch.Identity(def), Reason: def.GetReason(),
		Query: def.GetVisibilityQuery(), Executions: batch.TargetExecutions(def),
	}, nil
}

// batchPageToken continues ListBatchOperations after a job.
type batchPageToken struct {
	StartTime int64  `json:"t"`
	JobID     string `json:"j"`
}

// ListBatchOperations lists the namespace's jobs, newest first. A page
// size of zero or over frontend.visibilityMaxPageSize means the maximum,
// as on the reference server.
func (h *Handler) ListBatchOperations(ctx context.Context, req *workflowservice.ListBatchOperationsRequest) (*workflowservice.ListBatchOperationsResponse, error) {
	if h.opts.BatchJobs == nil {
		return nil, errBatchNotConfigured
	}
	if req.GetNamespace() == "" {
		return nil, errNamespaceNotSet
	}
	ns, err := h.namespaceByName(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if maxSize := h.opts.Dynamic.Int(keyVisibilityMaxPageSize, defaultVisibilityMaxPageSize); size <= 0 || size > maxSize {
		size = maxSize
	}
	var after *persistence.BatchJobKey
	if tok := req.GetNextPageToken(); len(tok) > 0 {
		var t batchPageToken
		if err := json.Unmarshal(tok, &t); err != nil || t.JobID == "" {
			return nil, errInvalidVisibilityToken
		}
		after = &persistence.BatchJobKey{StartTime: time.Unix(0, t.StartTime), JobID: t.JobID}
	}
	jobs, err := h.opts.BatchJobs.ListBatchJobs(ctx, ns.ID, after, size+1)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.ListBatchOperationsResponse{}
	if len(jobs) > size {
		jobs = jobs[:size]
		last := jobs[size-1]
		resp.NextPageToken, _ = json.Marshal(batchPageToken{StartTime: last.StartTime.UnixNano(), JobID: last.JobID})
	}
	for _, j := range jobs {
		info := &batchpb.BatchOperationInfo{JobId: j.JobID, State: enumspb.BatchOperationState(j.State),
			StartTime: timestamp(j.StartTime), CloseTime: timestamp(j.CloseTime)}
		if def, err := batch.DecodeRequest(j.Data); err == nil {
			info.OperationType = batch.OperationType(def)
		}
		resp.OperationInfo = append(resp.OperationInfo, info)
	}
	return resp, nil
}

// timestamp is t on the wire; nil for the zero time.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// BatchClient is the API the batch worker acts through: this handler,
// called in process, with errors turned into serviceerror values as the
// gRPC interceptor does for remote callers.
func (h *Handler) BatchClient() batch.Client { return batchClient{h} }

type batchClient struct{ h *Handler }

func (c batchClient) TerminateWorkflowExecution(ctx context.Context, r *workflowservice.TerminateWorkflowExecutionRequest) (*workflowservice.TerminateWorkflowExecutionResponse, error) {
	resp, err := c.h.TerminateWorkflowExecution(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) RequestCancelWorkflowExecution(ctx context.Context, r *workflowservice.RequestCancelWorkflowExecutionRequest) (*workflowservice.RequestCancelWorkflowExecutionResponse, error) {
	resp, err := c.h.RequestCancelWorkflowExecution(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) SignalWorkflowExecution(ctx context.Context, r *workflowservice.SignalWorkflowExecutionRequest) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	resp, err := c.h.SignalWorkflowExecution(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) DeleteWorkflowExecution(ctx context.Context, r *workflowservice.DeleteWorkflowExecutionRequest) (*workflowservice.DeleteWorkflowExecutionResponse, error) {
	resp, err := c.h.DeleteWorkflowExecution(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) ResetWorkflowExecution(ctx context.Context, r *workflowservice.ResetWorkflowExecutionRequest) (*workflowservice.ResetWorkflowExecutionResponse, error) {
	resp, err := c.h.ResetWorkflowExecution(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) UpdateWorkflowExecutionOptions(ctx context.Context, r *workflowservice.UpdateWorkflowExecutionOptionsRequest) (*workflowservice.UpdateWorkflowExecutionOptionsResponse, error) {
	resp, err := c.h.UpdateWorkflowExecutionOptions(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) UnpauseActivity(ctx context.Context, r *workflowservice.UnpauseActivityRequest) (*workflowservice.UnpauseActivityResponse, error) {
	resp, err := c.h.UnpauseActivity(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) ResetActivity(ctx context.Context, r *workflowservice.ResetActivityRequest) (*workflowservice.ResetActivityResponse, error) {
	resp, err := c.h.ResetActivity(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) UpdateActivityOptions(ctx context.Context, r *workflowservice.UpdateActivityOptionsRequest) (*workflowservice.UpdateActivityOptionsResponse, error) {
	resp, err := c.h.UpdateActivityOptions(ctx, r)
	return resp, toServiceError(err)
}

func (c batchClient) GetWorkflowExecutionHistory(ctx context.Context, r *workflowservice.GetWorkflowExecutionHistoryRequest) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	resp, err := c.h.GetWorkflowExecutionHistory(ctx, r)
	return resp, toServiceError(err)
}

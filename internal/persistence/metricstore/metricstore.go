// Package metricstore decorates a persistence.Store with Prometheus
// metrics: persistence_requests, persistence_errors and
// persistence_latency, labelled with the store method's name as the
// operation. It changes no behaviour: every call and result is passed
// through as is.
package metricstore

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/sundialhq/sundial/internal/metrics"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
)

// Store is a metered persistence.Store. Methods not overridden here
// (added to the interface later) are forwarded unmetered by the embedded
// store.
type Store struct {
	persistence.Store
	m *metrics.Metrics
}

// Wrap returns inner metered by m; with a nil m it returns inner.
func Wrap(inner persistence.Store, m *metrics.Metrics) persistence.Store {
	if m == nil {
		return inner
	}
	return &Store{Store: inner, m: m}
}

// Expected reports whether err is an answer of the store's contract
// rather than a failure: not found, condition failed, already exists,
// a current-run conflict, lost fencing, or a stale page token.
func Expected(err error) bool {
	var lost *persistence.ShardOwnershipLostError
	var lease *persistence.TaskQueueLeaseLostError
	var conflict *persistence.CurrentRunConflictError
	return errors.Is(err, persistence.ErrNotFound) || errors.Is(err, persistence.ErrConditionFailed) ||
		errors.Is(err, persistence.ErrAlreadyExists) || errors.Is(err, persistence.ErrInvalidPageToken) ||
		errors.As(err, &lost) || errors.As(err, &lease) || errors.As(err, &conflict)
}

// ErrorType names a store error for the error_type label: the
// persistence sentinel it wraps, or its Go type.
func ErrorType(err error) string {
	var lost *persistence.ShardOwnershipLostError
	var lease *persistence.TaskQueueLeaseLostError
	var conflict *persistence.CurrentRunConflictError
	var unavailable *persistence.UnavailableError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, persistence.ErrNotFound):
		return "NotFound"
	case errors.Is(err, persistence.ErrConditionFailed):
		return "ConditionFailed"
	case errors.Is(err, persistence.ErrAlreadyExists):
		return "AlreadyExists"
	case errors.Is(err, persistence.ErrInvalidPageToken):
		return "InvalidPageToken"
	case errors.Is(err, persistence.ErrUnknownOutcome):
		return "UnknownOutcome"
	case errors.As(err, &lost):
		return "ShardOwnershipLost"
	case errors.As(err, &lease):
		return "TaskQueueLeaseLost"
	case errors.As(err, &conflict):
		return "CurrentRunConflict"
	case errors.As(err, &unavailable):
		return "Unavailable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "Timeout"
	}
	return metrics.ErrorType(err)
}

// track records a call begun at start; it reads *err when the call
// returns (use with defer).
func (s *Store) track(op string, start time.Time, err *error) {
	s.m.Persistence(op, time.Since(start), ErrorType(*err), *err == nil || Expected(*err))
}

func (s *Store) InitCluster(ctx context.Context, numShards int32) (_ int32, err error) {
	defer s.track("InitCluster", time.Now(), &err)
	return s.Store.InitCluster(ctx, numShards)
}

func (s *Store) CreateNamespace(ctx context.Context, ns persistence.NamespaceRecord) (err error) {
	defer s.track("CreateNamespace", time.Now(), &err)
	return s.Store.CreateNamespace(ctx, ns)
}

func (s *Store) GetNamespaceByName(ctx context.Context, name string) (_ persistence.NamespaceRecord, err error) {
	defer s.track("GetNamespaceByName", time.Now(), &err)
	return s.Store.GetNamespaceByName(ctx, name)
}

func (s *Store) GetNamespaceByID(ctx context.Context, id string) (_ persistence.NamespaceRecord, err error) {
	defer s.track("GetNamespaceByID", time.Now(), &err)
	return s.Store.GetNamespaceByID(ctx, id)
}

func (s *Store) ListNamespaces(ctx context.Context) (_ []persistence.NamespaceRecord, err error) {
	defer s.track("ListNamespaces", time.Now(), &err)
	return s.Store.ListNamespaces(ctx)
}

func (s *Store) UpdateNamespace(ctx context.Context, ns persistence.NamespaceRecord, prevData []byte) (err error) {
	defer s.track("UpdateNamespace", time.Now(), &err)
	return s.Store.UpdateNamespace(ctx, ns, prevData)
}

func (s *Store) DeleteNamespace(ctx context.Context, id string) (err error) {
	defer s.track("DeleteNamespace", time.Now(), &err)
	return s.Store.DeleteNamespace(ctx, id)
}

func (s *Store) AcquireShard(ctx context.Context, shardID int32) (_ int64, err error) {
	defer s.track("AcquireShard", time.Now(), &err)
	return s.Store.AcquireShard(ctx, shardID)
}

func (s *Store) RenewShard(ctx context.Context, shardID int32, rangeID int64) (_ int64, err error) {
	defer s.track("RenewShard", time.Now(), &err)
	return s.Store.RenewShard(ctx, shardID, rangeID)
}

func (s *Store) CreateWorkflow(ctx context.Context, req *persistence.CreateWorkflowRequest) (err error) {
	defer s.track("CreateWorkflow", time.Now(), &err)
	return s.Store.CreateWorkflow(ctx, req)
}

func (s *Store) UpdateWorkflow(ctx context.Context, req *persistence.UpdateWorkflowRequest) (err error) {
	defer s.track("UpdateWorkflow", time.Now(), &err)
	return s.Store.UpdateWorkflow(ctx, req)
}

func (s *Store) DeleteWorkflow(ctx context.Context, shardID int32, rangeID int64, key persistence.WorkflowKey) (err error) {
	defer s.track("DeleteWorkflow", time.Now(), &err)
	return s.Store.DeleteWorkflow(ctx, shardID, rangeID, key)
}

func (s *Store) GetWorkflow(ctx context.Context, shardID int32, key persistence.WorkflowKey) (_ *persistence.WorkflowRecord, err error) {
	defer s.track("GetWorkflow", time.Now(), &err)
	return s.Store.GetWorkflow(ctx, shardID, key)
}

func (s *Store) GetCurrentRun(ctx context.Context, shardID int32, namespaceID, workflowID string) (_ *persistence.CurrentRun, err error) {
	defer s.track("GetCurrentRun", time.Now(), &err)
	return s.Store.GetCurrentRun(ctx, shardID, namespaceID, workflowID)
}

func (s *Store) ReadHistory(ctx context.Context, shardID int32, key persistence.WorkflowKey, minEventID, maxEventID int64, limit int, reverse bool) (_ []persistence.HistoryEvent, err error) {
	defer s.track("ReadHistory", time.Now(), &err)
	return s.Store.ReadHistory(ctx, shardID, key, minEventID, maxEventID, limit, reverse)
}

func (s *Store) GetOutboxTasks(ctx context.Context, shardID int32, category persistence.TaskCategory, afterTime time.Time, afterTaskID int64, beforeTime time.Time, limit int) (_ []persistence.OutboxTask, err error) {
	defer s.track("GetOutboxTasks", time.Now(), &err)
	return s.Store.GetOutboxTasks(ctx, shardID, category, afterTime, afterTaskID, beforeTime, limit)
}

func (s *Store) CompleteOutboxTasks(ctx context.Context, shardID int32, rangeID int64, category persistence.TaskCategory, keys []persistence.OutboxKey) (err error) {
	defer s.track("CompleteOutboxTasks", time.Now(), &err)
	return s.Store.CompleteOutboxTasks(ctx, shardID, rangeID, category, keys)
}

func (s *Store) MoveOutboxTaskToDLQ(ctx context.Context, rangeID int64, t persistence.DLQTask) (err error) {
	defer s.track("MoveOutboxTaskToDLQ", time.Now(), &err)
	return s.Store.MoveOutboxTaskToDLQ(ctx, rangeID, t)
}

func (s *Store) ListDLQ(ctx context.Context, after persistence.DLQKey, limit int) (_ []persistence.DLQTask, err error) {
	defer s.track("ListDLQ", time.Now(), &err)
	return s.Store.ListDLQ(ctx, after, limit)
}

func (s *Store) RestoreDLQTask(ctx context.Context, key persistence.DLQKey) (_ persistence.OutboxTask, err error) {
	defer s.track("RestoreDLQTask", time.Now(), &err)
	return s.Store.RestoreDLQTask(ctx, key)
}

func (s *Store) DeleteDLQTask(ctx context.Context, key persistence.DLQKey) (err error) {
	defer s.track("DeleteDLQTask", time.Now(), &err)
	return s.Store.DeleteDLQTask(ctx, key)
}

func (s *Store) CountDLQ(ctx context.Context) (_ int64, err error) {
	defer s.track("CountDLQ", time.Now(), &err)
	return s.Store.CountDLQ(ctx)
}

func (s *Store) LeaseTaskQueue(ctx context.Context, key persistence.TaskQueueKey) (a int64, b int64, err error) {
	defer s.track("LeaseTaskQueue", time.Now(), &err)
	return s.Store.LeaseTaskQueue(ctx, key)
}

func (s *Store) UpdateAckLevel(ctx context.Context, key persistence.TaskQueueKey, rangeID int64, ackLevel int64) (err error) {
	defer s.track("UpdateAckLevel", time.Now(), &err)
	return s.Store.UpdateAckLevel(ctx, key, rangeID, ackLevel)
}

func (s *Store) CreateTasks(ctx context.Context, key persistence.TaskQueueKey, rangeID int64, tasks []persistence.QueueTask) (err error) {
	defer s.track("CreateTasks", time.Now(), &err)
	return s.Store.CreateTasks(ctx, key, rangeID, tasks)
}

func (s *Store) GetTasks(ctx context.Context, key persistence.TaskQueueKey, afterTaskID int64, limit int) (_ []persistence.QueueTask, err error) {
	defer s.track("GetTasks", time.Now(), &err)
	return s.Store.GetTasks(ctx, key, afterTaskID, limit)
}

func (s *Store) CompleteTasksUpTo(ctx context.Context, key persistence.TaskQueueKey, taskID int64) (_ int64, err error) {
	defer s.track("CompleteTasksUpTo", time.Now(), &err)
	return s.Store.CompleteTasksUpTo(ctx, key, taskID)
}

func (s *Store) CompleteTask(ctx context.Context, key persistence.TaskQueueKey, taskID int64) (err error) {
	defer s.track("CompleteTask", time.Now(), &err)
	return s.Store.CompleteTask(ctx, key, taskID)
}

func (s *Store) CountTasks(ctx context.Context, key persistence.TaskQueueKey) (_ int64, err error) {
	defer s.track("CountTasks", time.Now(), &err)
	return s.Store.CountTasks(ctx, key)
}

func (s *Store) UpsertVisibility(ctx context.Context, rec *persistence.VisibilityRecord) (err error) {
	defer s.track("UpsertVisibility", time.Now(), &err)
	return s.Store.UpsertVisibility(ctx, rec)
}

func (s *Store) DeleteVisibility(ctx context.Context, namespaceID, workflowID, runID string) (err error) {
	defer s.track("DeleteVisibility", time.Now(), &err)
	return s.Store.DeleteVisibility(ctx, namespaceID, workflowID, runID)
}

func (s *Store) ListVisibility(ctx context.Context, req *persistence.ListVisibilityRequest) (_ *persistence.ListVisibilityResponse, err error) {
	defer s.track("ListVisibility", time.Now(), &err)
	return s.Store.ListVisibility(ctx, req)
}

func (s *Store) CountVisibility(ctx context.Context, namespaceID string, q *query.Query) (_ *persistence.VisibilityCount, err error) {
	defer s.track("CountVisibility", time.Now(), &err)
	return s.Store.CountVisibility(ctx, namespaceID, q)
}

func (s *Store) AddSearchAttributes(ctx context.Context, namespaceID string, attrs map[string]enumspb.IndexedValueType) (err error) {
	defer s.track("AddSearchAttributes", time.Now(), &err)
	return s.Store.AddSearchAttributes(ctx, namespaceID, attrs)
}

func (s *Store) RemoveSearchAttributes(ctx context.Context, namespaceID string, names []string) (err error) {
	defer s.track("RemoveSearchAttributes", time.Now(), &err)
	return s.Store.RemoveSearchAttributes(ctx, namespaceID, names)
}

func (s *Store) GetSearchAttributes(ctx context.Context, namespaceID string) (_ map[string]enumspb.IndexedValueType, err error) {
	defer s.track("GetSearchAttributes", time.Now(), &err)
	return s.Store.GetSearchAttributes(ctx, namespaceID)
}

func (s *Store) CreateBatchJob(ctx context.Context, job *persistence.BatchJob) (err error) {
	defer s.track("CreateBatchJob", time.Now(), &err)
	return s.Store.CreateBatchJob(ctx, job)
}

func (s *Store) GetBatchJob(ctx context.Context, namespaceID, jobID string) (_ *persistence.BatchJob, err error) {
	defer s.track("GetBatchJob", time.Now(), &err)
	return s.Store.GetBatchJob(ctx, namespaceID, jobID)
}

func (s *Store) ListBatchJobs(ctx context.Context, namespaceID string, after *persistence.BatchJobKey, limit int) (_ []*persistence.BatchJob, err error) {
	defer s.track("ListBatchJobs", time.Now(), &err)
	return s.Store.ListBatchJobs(ctx, namespaceID, after, limit)
}

func (s *Store) ListRunningBatchJobs(ctx context.Context, limit int) (_ []*persistence.BatchJob, err error) {
	defer s.track("ListRunningBatchJobs", time.Now(), &err)
	return s.Store.ListRunningBatchJobs(ctx, limit)
}

func (s *Store) CountRunningBatchJobs(ctx context.Context, namespaceID string) (_ int64, err error) {
	defer s.track("CountRunningBatchJobs", time.Now(), &err)
	return s.Store.CountRunningBatchJobs(ctx, namespaceID)
}

func (s *Store) ClaimBatchJob(ctx context.Context, namespaceID, jobID, owner string, now, until time.Time) (err error) {
	defer s.track("ClaimBatchJob", time.Now(), &err)
	return s.Store.ClaimBatchJob(ctx, namespaceID, jobID, owner, now, until)
}

func (s *Store) UpdateBatchProgress(ctx context.Context, namespaceID, jobID, owner string, p persistence.BatchProgress) (err error) {
	defer s.track("UpdateBatchProgress", time.Now(), &err)
	return s.Store.UpdateBatchProgress(ctx, namespaceID, jobID, owner, p)
}

func (s *Store) CloseBatchJob(ctx context.Context, namespaceID, jobID, owner string, state persistence.BatchJobState, closeTime time.Time, p *persistence.BatchProgress) (err error) {
	defer s.track("CloseBatchJob", time.Now(), &err)
	return s.Store.CloseBatchJob(ctx, namespaceID, jobID, owner, state, closeTime, p)
}

func (s *Store) DeleteBatchJobs(ctx context.Context, namespaceID string) (_ int64, err error) {
	defer s.track("DeleteBatchJobs", time.Now(), &err)
	return s.Store.DeleteBatchJobs(ctx, namespaceID)
}

func (s *Store) CreateSchedule(ctx context.Context, rec *persistence.ScheduleRecord) (err error) {
	defer s.track("CreateSchedule", time.Now(), &err)
	return s.Store.CreateSchedule(ctx, rec)
}

func (s *Store) ClaimDueSchedules(ctx context.Context, owner string, now, until time.Time, limit int) (_ []*persistence.ScheduleRecord, err error) {
	defer s.track("ClaimDueSchedules", time.Now(), &err)
	return s.Store.ClaimDueSchedules(ctx, owner, now, until, limit)
}

func (s *Store) DeleteLeasedSchedule(ctx context.Context, namespaceID, scheduleID, owner string, expectedVersion int64) (err error) {
	defer s.track("DeleteLeasedSchedule", time.Now(), &err)
	return s.Store.DeleteLeasedSchedule(ctx, namespaceID, scheduleID, owner, expectedVersion)
}

func (s *Store) GetSchedule(ctx context.Context, namespaceID, scheduleID string) (_ *persistence.ScheduleRecord, err error) {
	defer s.track("GetSchedule", time.Now(), &err)
	return s.Store.GetSchedule(ctx, namespaceID, scheduleID)
}

func (s *Store) UpdateSchedule(ctx context.Context, rec *persistence.ScheduleRecord, expectedVersion int64) (err error) {
	defer s.track("UpdateSchedule", time.Now(), &err)
	return s.Store.UpdateSchedule(ctx, rec, expectedVersion)
}

func (s *Store) DeleteSchedule(ctx context.Context, namespaceID, scheduleID string) (err error) {
	defer s.track("DeleteSchedule", time.Now(), &err)
	return s.Store.DeleteSchedule(ctx, namespaceID, scheduleID)
}

func (s *Store) ListSchedules(ctx context.Context, namespaceID, afterID string, limit int) (_ []*persistence.ScheduleRecord, err error) {
	defer s.track("ListSchedules", time.Now(), &err)
	return s.Store.ListSchedules(ctx, namespaceID, afterID, limit)
}

func (s *Store) CountSchedules(ctx context.Context, namespaceID string) (_ int64, err error) {
	defer s.track("CountSchedules", time.Now(), &err)
	return s.Store.CountSchedules(ctx, namespaceID)
}

func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) (_ []*persistence.ScheduleRecord, err error) {
	defer s.track("DueSchedules", time.Now(), &err)
	return s.Store.DueSchedules(ctx, now, limit)
}

func (s *Store) NextScheduleRunTime(ctx context.Context) (_ time.Time, _ bool, err error) {
	defer s.track("NextScheduleRunTime", time.Now(), &err)
	return s.Store.NextScheduleRunTime(ctx)
}

func (s *Store) HeartbeatClusterMembers(ctx context.Context, members []persistence.ClusterMember) (err error) {
	defer s.track("HeartbeatClusterMembers", time.Now(), &err)
	return s.Store.HeartbeatClusterMembers(ctx, members)
}

func (s *Store) ListClusterMembers(ctx context.Context, aliveAt time.Time) (_ []persistence.ClusterMember, err error) {
	defer s.track("ListClusterMembers", time.Now(), &err)
	return s.Store.ListClusterMembers(ctx, aliveAt)
}

func (s *Store) DeleteClusterMember(ctx context.Context, role, identity string) (err error) {
	defer s.track("DeleteClusterMember", time.Now(), &err)
	return s.Store.DeleteClusterMember(ctx, role, identity)
}

func (s *Store) PruneClusterMembers(ctx context.Context, before time.Time) (_ int64, err error) {
	defer s.track("PruneClusterMembers", time.Now(), &err)
	return s.Store.PruneClusterMembers(ctx, before)
}

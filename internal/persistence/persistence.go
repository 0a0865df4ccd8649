// Package persistence defines Sundial's narrow store interfaces and the typed
// errors they return. Implementations live in sub-packages (sqlite,
// postgres, mysql, all on the shared sqlstore layer) and are all checked by
// the conformance suite in storetest.
//
// Contract common to every method:
//   - ctx cancellation aborts the call; the outcome of a write aborted that way
//     is unknown (see ErrUnknownOutcome).
//   - Byte slices passed in are not retained after the call returns; byte
//     slices returned belong to the caller.
//   - A transient database failure (lost connection, busy/locked beyond the
//     store's own retry, timeout) is returned wrapped in *UnavailableError so
//     the frontend can map it to gRPC Unavailable.
package persistence

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound means the addressed row does not exist.
	ErrNotFound = errors.New("persistence: not found")
	// ErrConditionFailed means an optimistic-concurrency condition (record
	// version, expected run ID) did not hold; nothing was written. Safe to
	// retry after reloading.
	ErrConditionFailed = errors.New("persistence: condition failed")
	// ErrAlreadyExists means a create found the row already present; nothing
	// was written.
	ErrAlreadyExists = errors.New("persistence: already exists")
)

// ShardOwnershipLostError means the shard's range_id in the database is not
// the writer's: another owner acquired the shard. Nothing was written. The
// writer must stop using the shard at once.
type ShardOwnershipLostError struct {
	ShardID int32
	RangeID int64 // the writer's range ID
}

func (e *ShardOwnershipLostError) Error() string {
	return fmt.Sprintf("persistence: shard %d ownership lost (range_id %d is stale)", e.ShardID, e.RangeID)
}

// TaskQueueLeaseLostError is ShardOwnershipLostError's twin for matching:
// the task queue partition's range_id moved on. Nothing was written.
type TaskQueueLeaseLostError struct {
	Key     TaskQueueKey
	RangeID int64
}

func (e *TaskQueueLeaseLostError) Error() string {
	return fmt.Sprintf("persistence: task queue %s/%s kind %d partition %d lease lost (range_id %d is stale)",
		e.Key.NamespaceID, e.Key.Name, e.Key.Kind, e.Key.Partition, e.RangeID)
}

// CurrentRunConflictError is returned by CreateWorkflow when the workflow ID
// already has a current run and the request's CurrentMode does not allow
// replacing it. Nothing was written. It carries the current run so the caller
// can apply dedup (same request ID) and ID-reuse policies.
type CurrentRunConflictError struct {
	Current CurrentRun
}

func (e *CurrentRunConflictError) Error() string {
	return fmt.Sprintf("persistence: workflow %q already has current run %s", e.Current.WorkflowID, e.Current.RunID)
}

// UnavailableError wraps a transient database failure.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "persistence: unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// ErrUnknownOutcome may wrap a write error whose commit status is unknown
// (e.g. the connection dropped during COMMIT). The shard owner must
// re-acquire the shard before its next write.
var ErrUnknownOutcome = errors.New("persistence: write outcome unknown")

// WorkflowKey addresses one run of a workflow.
type WorkflowKey struct {
	NamespaceID string
	WorkflowID  string
	RunID       string
}

// RunState is the coarse state kept in the current-run pointer.
type RunState int32

const (
	RunStateRunning RunState = 1
	RunStateClosed  RunState = 2
)

// CurrentRun is the per-workflow-ID pointer to the latest run.
type CurrentRun struct {
	NamespaceID string
	WorkflowID  string
	RunID       string
	// CreateRequestID is the request ID of the StartWorkflowExecution that
	// created the run (for dedup of retried starts).
	CreateRequestID string
	State           RunState
	// Status is the enumspb.WorkflowExecutionStatus value of the run.
	Status int32
}

// HistoryEvent is one serialized history event (a proto-encoded
// historypb.HistoryEvent). EventIDs of one run are contiguous from 1.
type HistoryEvent struct {
	EventID int64
	Data    []byte
}

// TaskCategory names an outbox queue.
type TaskCategory int32

const (
	// CategoryTransfer tasks are executed as soon as possible, in TaskID order.
	CategoryTransfer TaskCategory = 1
	// CategoryTimer tasks are executed at or after VisibilityTime.
	CategoryTimer TaskCategory = 2
)

// OutboxTask is a row of a shard's outbox. Data is opaque to the store.
// Transfer tasks are keyed by TaskID; timer tasks by (VisibilityTime, TaskID).
type OutboxTask struct {
	Category       TaskCategory
	TaskID         int64
	VisibilityTime time.Time // timer tasks only; zero for transfer
	Data           []byte
}

// OutboxKey names an outbox task: transfer tasks by TaskID, timer tasks by
// (VisibilityTime, TaskID).
type OutboxKey struct {
	VisibilityTime time.Time // timer tasks only
	TaskID         int64
}

// ClusterStore holds cluster-wide metadata written at creation.
type ClusterStore interface {
	// InitCluster records numShards if the cluster is new and returns the
	// count recorded (the stored one if the cluster already existed).
	InitCluster(ctx context.Context, numShards int32) (stored int32, err error)
}

// NamespaceRecord is a namespace row. Data is an opaque encoded description.
type NamespaceRecord struct {
	ID   string
	Name string
	Data []byte
}

// NamespaceStore keeps namespaces.
type NamespaceStore interface {
	// CreateNamespace returns ErrAlreadyExists if the name or ID exists.
	CreateNamespace(ctx context.Context, ns NamespaceRecord) error
	// GetNamespaceByName / GetNamespaceByID return ErrNotFound if missing.
	GetNamespaceByName(ctx context.Context, name string) (NamespaceRecord, error)
	GetNamespaceByID(ctx context.Context, id string) (NamespaceRecord, error)
	ListNamespaces(ctx context.Context) ([]NamespaceRecord, error)
	// UpdateNamespace replaces the Data of the namespace with ID ns.ID, but
	// only if its stored Data is still exactly prevData: a compare-and-swap
	// on the whole description, so concurrent read-modify-write updates
	// from any number of processes never lose one another's changes. A
	// non-empty ns.Name renames the namespace in the same write (deletion
	// renames it to free the name); ErrAlreadyExists if another namespace
	// has that name. It returns ErrNotFound if no namespace has that ID and
	// ErrConditionFailed if Data moved on; nothing is written then and the
	// caller may re-read and retry.
	UpdateNamespace(ctx context.Context, ns NamespaceRecord, prevData []byte) error
	// DeleteNamespace removes the namespace row with ID id (the last step
	// of deleting a namespace, once its data is gone). A missing row is not
	// an error, so the step can be repeated.
	DeleteNamespace(ctx context.Context, id string) error
}

// ShardStore owns the range_id fence.
type ShardStore interface {
	// AcquireShard creates the shard row if missing, increments its range_id
	// with a conditional update and returns the new value. Every later write
	// for the shard passes that value and fails with
	// *ShardOwnershipLostError once someone else acquires the shard.
	AcquireShard(ctx context.Context, shardID int32) (rangeID int64, err error)
	// RenewShard increments the shard's range_id only if it is still
	// rangeID, and returns the new value; otherwise it returns
	// *ShardOwnershipLostError and changes nothing. An owner uses it, not
	// AcquireShard, to fence off its own write whose outcome was unknown
	// (or to get a fresh task-ID range): it must never take the shard back
	// from an owner that acquired it meanwhile.
	RenewShard(ctx context.Context, shardID int32, rangeID int64) (newRangeID int64, err error)
}

// CurrentMode says what CreateWorkflow may do with an existing current run.
type CurrentMode int32

const (
	// CurrentBrandNew: no current row may exist for the workflow ID.
	CurrentBrandNew CurrentMode = 1
	// CurrentReplace: the current row must exist and point at
	// PreviousRunID; it is moved to the new run.
	CurrentReplace CurrentMode = 2
)

// CreateWorkflowRequest writes a new run atomically: the run row, its first
// events, the current-run pointer and the outbox tasks, fenced by RangeID.
type CreateWorkflowRequest struct {
	ShardID       int32
	RangeID       int64
	Mode          CurrentMode
	PreviousRunID string // with CurrentReplace
	Current       CurrentRun
	// State is the encoded mutable state; the store treats it as opaque.
	State       []byte
	NextEventID int64
	Events      []HistoryEvent
	Tasks       []OutboxTask
}

// UpdateWorkflowRequest writes one state transition of an existing run
// atomically: new mutable state, appended events, current-run state/status
// (when UpdateCurrent), and outbox tasks. Fenced by RangeID and conditioned
// on the run's record version being ExpectedVersion; on success the version
// becomes ExpectedVersion+1.
type UpdateWorkflowRequest struct {
	ShardID         int32
	RangeID         int64
	Key             WorkflowKey
	ExpectedVersion int64
	State           []byte
	NextEventID     int64
	Events          []HistoryEvent
	Tasks           []OutboxTask
	// UpdateCurrent, when true, sets the current row's State and Status
	// (only if it still points at Key.RunID).
	UpdateCurrent bool
	CurrentState  RunState
	CurrentStatus int32
	// NewRun, when set, creates the next run of the same workflow ID in the
	// same transaction (continue-as-new, retry, cron): its Mode must be
	// CurrentReplace with PreviousRunID = Key.RunID, and its ShardID and
	// RangeID those of this request.
	NewRun *CreateWorkflowRequest
}

// WorkflowRecord is a loaded run.
type WorkflowRecord struct {
	State       []byte
	NextEventID int64
	Version     int64 // record version for UpdateWorkflow's condition; 1 after create
}

// ExecutionStore keeps runs, their histories and the shard outboxes.
type ExecutionStore interface {
	// CreateWorkflow: *CurrentRunConflictError if Mode is CurrentBrandNew
	// and a current row exists, or Mode is CurrentReplace and it points
	// elsewhere (Current then describes the row found); ErrAlreadyExists if
	// the run row exists; *ShardOwnershipLostError on a stale RangeID.
	CreateWorkflow(ctx context.Context, req *CreateWorkflowRequest) error
	// UpdateWorkflow: ErrConditionFailed on a version mismatch (or missing
	// run), *ShardOwnershipLostError on a stale RangeID. Events must
	// not overlap existing event IDs (ErrConditionFailed if they do).
	UpdateWorkflow(ctx context.Context, req *UpdateWorkflowRequest) error
	// DeleteWorkflow removes a run: its row, history and (if it still
	// points at the run) the current-run row, fenced by rangeID. Deleting
	// a missing run is not an error. Outbox tasks of the run stay; their
	// executors find the run gone.
	DeleteWorkflow(ctx context.Context, shardID int32, rangeID int64, key WorkflowKey) error
	// GetWorkflow returns ErrNotFound if the run does not exist.
	GetWorkflow(ctx context.Context, shardID int32, key WorkflowKey) (*WorkflowRecord, error)
	// GetCurrentRun returns ErrNotFound if the workflow ID never ran.
	GetCurrentRun(ctx context.Context, shardID int32, namespaceID, workflowID string) (*CurrentRun, error)
	// ReadHistory returns up to limit events with minEventID <= id <
	// maxEventID, ascending (or descending when reverse is true).
	ReadHistory(ctx context.Context, shardID int32, key WorkflowKey, minEventID, maxEventID int64, limit int, reverse bool) ([]HistoryEvent, error)
	// GetOutboxTasks returns up to limit tasks of the category ordered by
	// their key and strictly after the given key: transfer by TaskID
	// (afterTime ignored); timer by (VisibilityTime, TaskID). For timers,
	// only tasks with VisibilityTime < beforeTime are returned (zero
	// beforeTime means no bound).
	GetOutboxTasks(ctx context.Context, shardID int32, category TaskCategory, afterTime time.Time, afterTaskID int64, beforeTime time.Time, limit int) ([]OutboxTask, error)
	// CompleteOutboxTasks deletes the named tasks of one shard and
	// category, in one transaction, fenced by rangeID: with a stale
	// rangeID it deletes nothing and reports no error (the tasks stay for
	// the shard's owner). Deleting a missing task is not an error
	// (idempotent).
	CompleteOutboxTasks(ctx context.Context, shardID int32, rangeID int64, category TaskCategory, keys []OutboxKey) error
}

// TaskQueueKind mirrors enumspb.TaskQueueType: 1 workflow, 2 activity.
type TaskQueueKind int32

// TaskQueueKey addresses one partition of a task queue. Sticky queues have a
// single partition 0.
type TaskQueueKey struct {
	NamespaceID string
	Name        string
	Kind        TaskQueueKind
	Partition   int32
}

// QueueTask is one persisted backlog task of a partition. Data is opaque.
type QueueTask struct {
	TaskID    int64
	ExpiresAt time.Time // zero: never expires
	Data      []byte
}

// TaskQueueStore keeps matching's persisted backlog.
type TaskQueueStore interface {
	// LeaseTaskQueue creates the partition row if missing, increments its
	// range_id and returns the new value and the stored ack level (the
	// highest task ID known to be fully processed).
	LeaseTaskQueue(ctx context.Context, key TaskQueueKey) (rangeID int64, ackLevel int64, err error)
	// UpdateAckLevel stores ackLevel, fenced by rangeID.
	UpdateAckLevel(ctx context.Context, key TaskQueueKey, rangeID int64, ackLevel int64) error
	// CreateTasks inserts tasks, fenced by rangeID
	// (*TaskQueueLeaseLostError when stale).
	CreateTasks(ctx context.Context, key TaskQueueKey, rangeID int64, tasks []QueueTask) error
	// GetTasks returns up to limit tasks with TaskID > afterTaskID, ascending.
	GetTasks(ctx context.Context, key TaskQueueKey, afterTaskID int64, limit int) ([]QueueTask, error)
	// CompleteTasksUpTo deletes every task with TaskID <= taskID and returns
	// how many rows went.
	CompleteTasksUpTo(ctx context.Context, key TaskQueueKey, taskID int64) (int64, error)
	// CompleteTask deletes one task; a missing task is not an error.
	CompleteTask(ctx context.Context, key TaskQueueKey, taskID int64) error
	// CountTasks returns the number of persisted tasks of the partition.
	CountTasks(ctx context.Context, key TaskQueueKey) (int64, error)
}

// DLQKey names a dead-lettered outbox task: the shard, category and task ID
// it had in the outbox.
type DLQKey struct {
	ShardID  int32
	Category TaskCategory
	TaskID   int64
}

// DLQTask is an outbox task that still failed after its retry budget and
// was moved out of the outbox, so it no longer runs. It keeps its outbox
// key and data, so it can be put back unchanged.
type DLQTask struct {
	DLQKey
	VisibilityTime time.Time // timer tasks only
	Data           []byte
	Attempts       int32
	LastError      string // at most MaxDLQErrorLength bytes are kept
	MovedAt        time.Time
}

// MaxDLQErrorLength bounds the stored LastError of a DLQ task; longer
// texts are cut.
const MaxDLQErrorLength = 1000

// DLQStore keeps dead-lettered outbox tasks. Moving a task there is
// fenced by the shard's range_id (a stale owner must not take a task
// away from the new one); the operator calls on the DLQ are not.
type DLQStore interface {
	// MoveOutboxTaskToDLQ deletes the task's outbox row and writes t to the
	// DLQ, in one transaction. It is idempotent: a DLQ row with the same
	// key is replaced, and a missing outbox row is not an error.
	// *ShardOwnershipLostError when rangeID is not the shard's.
	MoveOutboxTaskToDLQ(ctx context.Context, rangeID int64, t DLQTask) error
	// ListDLQ returns up to limit DLQ tasks ordered by (ShardID, Category,
	// TaskID), strictly after the key after (the zero key starts at the
	// beginning).
	ListDLQ(ctx context.Context, after DLQKey, limit int) ([]DLQTask, error)
	// RestoreDLQTask deletes the DLQ row and puts the task back into the
	// outbox under its old key, in one transaction, and returns it.
	// ErrNotFound if the key is not in the DLQ (nothing is written).
	RestoreDLQTask(ctx context.Context, key DLQKey) (OutboxTask, error)
	// DeleteDLQTask drops a DLQ task for good. ErrNotFound if missing.
	DeleteDLQTask(ctx context.Context, key DLQKey) error
	// CountDLQ returns the number of DLQ tasks.
	CountDLQ(ctx context.Context) (int64, error)
}

// Store bundles every store a server needs. Close releases the database.
type Store interface {
	ClusterStore
	NamespaceStore
	ShardStore
	ExecutionStore
	DLQStore
	TaskQueueStore
	VisibilityStore
	BatchStore
	ScheduleStore
	MembershipStore
	Close() error
}

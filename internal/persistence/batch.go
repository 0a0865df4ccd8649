package persistence

import (
	"context"
	"time"
)

// BatchJobState mirrors enumspb.BatchOperationState: a job is created
// running and closes once, as completed or failed (stopped jobs are
// failed, as on the reference server).
type BatchJobState int32

const (
	BatchJobRunning   BatchJobState = 1
	BatchJobCompleted BatchJobState = 2
	BatchJobFailed    BatchJobState = 3
)

// BatchProgress is what a batch job has done so far. The runner writes it
// after acting on targets; Cursor (opaque to the store) says where to go on
// after a restart.
type BatchProgress struct {
	Total     int64
	Completed int64
	Failed    int64
	Cursor    []byte
}

// BatchJob is one batch operation of a namespace, keyed by its job ID.
// Data (opaque to the store) is the job's definition, fixed at creation.
type BatchJob struct {
	NamespaceID string
	JobID       string
	State       BatchJobState
	StartTime   time.Time
	CloseTime   time.Time // zero while running
	Data        []byte
	Progress    BatchProgress
	// LeaseOwner is the worker process running the job (ClaimBatchJob),
	// "" when none; LeaseExpiry is when another may take it over.
	LeaseOwner  string
	LeaseExpiry time.Time
}

// BatchJobKey is the listing position of a job: ListBatchJobs orders by
// StartTime descending, then JobID ascending.
type BatchJobKey struct {
	StartTime time.Time
	JobID     string
}

// BatchStore keeps batch jobs. No method is fenced by a shard: a job is run
// by the process holding its lease (ClaimBatchJob), whose writes are
// conditioned on it, and every write that changes a job's progress or
// state is conditioned on the job still running, so a stopped job can
// never be reopened or advanced.
type BatchStore interface {
	// CreateBatchJob writes a new job (its State should be running).
	// ErrAlreadyExists if the namespace already has a job with that ID
	// (running or closed); nothing is written then.
	CreateBatchJob(ctx context.Context, job *BatchJob) error
	// GetBatchJob returns ErrNotFound if the job does not exist.
	GetBatchJob(ctx context.Context, namespaceID, jobID string) (*BatchJob, error)
	// ListBatchJobs returns up to limit jobs of the namespace ordered by
	// StartTime descending then JobID, strictly after the key after (nil
	// starts at the beginning).
	ListBatchJobs(ctx context.Context, namespaceID string, after *BatchJobKey, limit int) ([]*BatchJob, error)
	// ListRunningBatchJobs returns up to limit running jobs of every
	// namespace, oldest first.
	ListRunningBatchJobs(ctx context.Context, limit int) ([]*BatchJob, error)
	// CountRunningBatchJobs counts the namespace's running jobs.
	CountRunningBatchJobs(ctx context.Context, namespaceID string) (int64, error)
	// ClaimBatchJob leases a running job to owner until until, or renews
	// owner's lease: only if the job is running and it is not leased to
	// another owner past now. ErrConditionFailed if it has closed or
	// another owner's lease is live, ErrNotFound if it does not exist.
	ClaimBatchJob(ctx context.Context, namespaceID, jobID, owner string, now, until time.Time) error
	// UpdateBatchProgress replaces the job's progress, only while it is
	// running and (owner not "") leased to owner: ErrConditionFailed if
	// it has closed or the lease is another's, ErrNotFound if it does not
	// exist. Nothing is written then.
	UpdateBatchProgress(ctx context.Context, namespaceID, jobID, owner string, p BatchProgress) error
	// CloseBatchJob moves a running job to state (completed or failed) at
	// closeTime, with progress p when p is not nil, in one write; with
	// owner not "" only while the job is leased to owner (the runner; the
	// API's stop passes ""). ErrConditionFailed if the job had already
	// closed or the lease is another's, ErrNotFound if it does not exist;
	// nothing is written then.
	CloseBatchJob(ctx context.Context, namespaceID, jobID, owner string, state BatchJobState, closeTime time.Time, p *BatchProgress) error
	// DeleteBatchJobs removes every job of the namespace, running or
	// closed, and returns how many it removed (a deleted namespace's
	// reclaim; a namespace has few jobs, so one write). A runner of a
	// removed job stops at its next write (ErrNotFound).
	DeleteBatchJobs(ctx context.Context, namespaceID string) (int64, error)
}

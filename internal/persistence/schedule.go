package persistence

import (
	"context"
	"time"
)

// ScheduleRecord is one schedule row. Data is the scheduler's encoded
// state, opaque to the store.
type ScheduleRecord struct {
	NamespaceID string
	ScheduleID  string
	// NextRunTime is when the scheduler must next look at the schedule;
	// zero means never (paused, or no future action and nothing pending).
	NextRunTime time.Time
	// Version is the conflict token: 1 after create, +1 per update.
	Version int64
	Data    []byte
	// LeaseOwner is the process working on the schedule's due actions
	// (ClaimSchedule), "" when none; LeaseExpiry is when another process
	// may take it over. Read-only for UpdateSchedule's callers.
	LeaseOwner  string
	LeaseExpiry time.Time
}

// ScheduleStore keeps schedules. Nothing is fenced by a shard: every
// update is conditioned on the row's Version instead, a due schedule is
// processed under a lease (ClaimSchedule) whose holder's writes are
// conditioned on it, and the scheduler's side effects are idempotent
// (deterministic workflow and request IDs).
type ScheduleStore interface {
	// CreateSchedule inserts rec with Version 1 (rec.Version is ignored).
	// ErrAlreadyExists if the schedule ID is taken in the namespace.
	CreateSchedule(ctx context.Context, rec *ScheduleRecord) error
	// GetSchedule returns ErrNotFound if the schedule does not exist.
	GetSchedule(ctx context.Context, namespaceID, scheduleID string) (*ScheduleRecord, error)
	// UpdateSchedule replaces Data and NextRunTime only if the stored
	// Version is still expectedVersion, which then becomes
	// expectedVersion+1. ErrConditionFailed (nothing written) if the
	// version moved on or the schedule is gone.
	//
	// With rec.LeaseOwner set it is the lease holder's write: also
	// conditioned on the stored lease owner being rec.LeaseOwner, and it
	// ends the lease. Without, it leaves the lease alone, and while a
	// lease is held it leaves NextRunTime too (the holder writes it when
	// it is done; if the holder dies, the lease's expiry is due).
	UpdateSchedule(ctx context.Context, rec *ScheduleRecord, expectedVersion int64) error
	// ClaimDueSchedules leases up to limit due schedules (as
	// DueSchedules, earliest first, and with no lease expiring after now)
	// to owner until until, in one write, and returns them as claimed.
	// Their NextRunTime becomes until, so they are not due for anyone
	// while the lease lasts and are due again (taken over) if the owner
	// dies. Concurrent claimers never both get a schedule.
	ClaimDueSchedules(ctx context.Context, owner string, now, until time.Time, limit int) ([]*ScheduleRecord, error)
	// DeleteLeasedSchedule removes the schedule only if its Version is
	// expectedVersion and owner holds its lease; ErrConditionFailed
	// (nothing removed) otherwise.
	DeleteLeasedSchedule(ctx context.Context, namespaceID, scheduleID, owner string, expectedVersion int64) error
	// DeleteSchedule removes the schedule; a missing one is ErrNotFound.
	DeleteSchedule(ctx context.Context, namespaceID, scheduleID string) error
	// ListSchedules returns up to limit schedules of the namespace with
	// ScheduleID > afterID, ordered by ScheduleID.
	ListSchedules(ctx context.Context, namespaceID, afterID string, limit int) ([]*ScheduleRecord, error)
	// CountSchedules counts the namespace's schedules.
	CountSchedules(ctx context.Context, namespaceID string) (int64, error)
	// DueSchedules returns up to limit schedules of every namespace whose
	// non-zero NextRunTime is at or before now, earliest first.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]*ScheduleRecord, error)
	// NextScheduleRunTime returns the earliest non-zero NextRunTime of all
	// schedules, and false when there is none.
	NextScheduleRunTime(ctx context.Context) (time.Time, bool, error)
}

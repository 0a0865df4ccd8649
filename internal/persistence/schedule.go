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
}

// ScheduleStore keeps schedules. Nothing is fenced by a shard: every
// update is conditioned on the row's Version instead, and the scheduler's
// side effects are idempotent (deterministic workflow and request IDs).
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
	UpdateSchedule(ctx context.Context, rec *ScheduleRecord, expectedVersion int64) error
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

package worker

import (
	"context"
	"errors"
	"time"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
)

// ScheduleRemover lists and deletes a namespace's schedules
// (persistence.ScheduleStore).
type ScheduleRemover interface {
	ListSchedules(ctx context.Context, namespaceID, afterID string, limit int) ([]*persistence.ScheduleRecord, error)
	DeleteSchedule(ctx context.Context, namespaceID, scheduleID string) error
}

// BatchJobRemover closes and removes a namespace's batch jobs
// (persistence.BatchStore).
type BatchJobRemover interface {
	ListBatchJobs(ctx context.Context, namespaceID string, after *persistence.BatchJobKey, limit int) ([]*persistence.BatchJob, error)
	CloseBatchJob(ctx context.Context, namespaceID, jobID, owner string, state persistence.BatchJobState, closeTime time.Time, p *persistence.BatchProgress) error
	DeleteBatchJobs(ctx context.Context, namespaceID string) (int64, error)
}

// deleteSchedules deletes up to maxDeletesPerPass of ns's schedules, so
// they stop firing (their actions would start workflows by the
// namespace's old name, which a new namespace may take). It reports
// whether none are left.
func (r *Reclaimer) deleteSchedules(ctx context.Context, ns *namespace.Namespace) (bool, error) {
	if r.opts.Schedules == nil {
		return true, nil
	}
	for deleted := 0; deleted < maxDeletesPerPass; {
		page, err := r.opts.Schedules.ListSchedules(ctx, ns.ID, "", min(reclaimPageSize, maxDeletesPerPass-deleted))
		if err != nil || len(page) == 0 {
			return err == nil, err
		}
		for _, rec := range page {
			err := r.opts.Schedules.DeleteSchedule(ctx, ns.ID, rec.ScheduleID)
			if err != nil && !errors.Is(err, persistence.ErrNotFound) {
				return false, err
			}
			deleted++
		}
		r.log.Info("namespace reclaim: deleted schedules", "namespace", ns.Name, "namespace_id", ns.ID, "schedules", len(page))
	}
	return false, nil
}

// closeBatchJobs closes ns's running batch jobs as failed (as stopping
// them does), so their runners stop at their next write instead of
// counting every target of a namespace being deleted as failed. The rows
// are removed with the namespace record (removeBatchJobs).
func (r *Reclaimer) closeBatchJobs(ctx context.Context, ns *namespace.Namespace) error {
	if r.opts.BatchJobs == nil {
		return nil
	}
	var after *persistence.BatchJobKey
	for {
		jobs, err := r.opts.BatchJobs.ListBatchJobs(ctx, ns.ID, after, reclaimPageSize)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			after = &persistence.BatchJobKey{StartTime: j.StartTime, JobID: j.JobID}
			if j.State != persistence.BatchJobRunning {
				continue
			}
			err := r.opts.BatchJobs.CloseBatchJob(ctx, ns.ID, j.JobID, "", persistence.BatchJobFailed, r.opts.Clock.Now(), nil)
			if err != nil && !errors.Is(err, persistence.ErrConditionFailed) && !errors.Is(err, persistence.ErrNotFound) {
				return err
			}
			r.log.Info("namespace reclaim: closed batch job", "namespace", ns.Name, "namespace_id", ns.ID, "job_id", j.JobID)
		}
		if len(jobs) < reclaimPageSize {
			return nil
		}
	}
}

func (r *Reclaimer) removeBatchJobs(ctx context.Context, nsID string) error {
	if r.opts.BatchJobs == nil {
		return nil
	}
	_, err := r.opts.BatchJobs.DeleteBatchJobs(ctx, nsID)
	return err
}

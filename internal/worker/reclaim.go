// Package worker runs Sundial's background system work. Today: removing
// the data of deleted namespaces (schedules and batch jobs run in the
// schedule and batch packages).
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/sundialhq/sundial/internal/clock"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
)

// Defaults of ReclaimOptions.
const (
	defaultReclaimInterval = 30 * time.Second
	defaultQuietPeriod     = 10 * time.Second
	// reclaimPageSize runs are listed and deleted at a time.
	reclaimPageSize = 100
	// maxDeletesPerPass bounds the work of one pass over one namespace, so
	// a huge namespace never holds the reclaimer (or the database) for
	// long; the next pass goes on.
	maxDeletesPerPass = 1000
)

// SearchAttributeRemover removes custom search attribute definitions
// (visibility.Registry).
type SearchAttributeRemover interface {
	Remove(ctx context.Context, namespaceID string, names []string) error
}

// ReclaimOptions configures a Reclaimer.
type ReclaimOptions struct {
	Namespaces *namespace.Registry
	History    history.Service
	Visibility persistence.VisibilityStore
	// SearchAttributes removes the namespace's custom definitions (nil:
	// they are left in the store).
	SearchAttributes SearchAttributeRemover
	// Schedules and BatchJobs remove the namespace's schedules and batch
	// jobs (nil: left in the store).
	Schedules ScheduleRemover
	BatchJobs BatchJobRemover
	Logger    *slog.Logger
	Clock     clock.Clock
	// Interval between passes (default 30 s); Wake starts one at once.
	Interval time.Duration
	// QuietPeriod is how long a deleted namespace must list no runs before
	// its record is removed (default 10 s): a run started just before the
	// delete may have its visibility record written a little later by its
	// outbox task.
	QuietPeriod time.Duration
}

// Reclaimer removes the data of namespaces marked deleted
// (namespace.Registry.MarkDeleted): it first deletes their schedules and
// closes their running batch jobs, so neither acts on the namespace any
// more, then deletes their runs (terminating open ones) page by page
// through history, which also deletes each run's visibility record, then
// their custom search attributes and batch jobs, and finally the
// namespace record. Its only state is the namespace's DELETED mark in the
// store, so a restart simply resumes; every step is idempotent.
type Reclaimer struct {
	opts ReclaimOptions
	log  *slog.Logger
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// emptySince is when each namespace (by ID) was first seen with no
	// runs; only the loop goroutine touches it.
	emptySince map[string]time.Time
}

// NewReclaimer returns a Reclaimer over opts; Start runs it.
func NewReclaimer(opts ReclaimOptions) *Reclaimer {
	if opts.Interval <= 0 {
		opts.Interval = defaultReclaimInterval
	}
	if opts.QuietPeriod <= 0 {
		opts.QuietPeriod = defaultQuietPeriod
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Reclaimer{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), emptySince: map[string]time.Time{}}
}

// Start runs passes in the background until Stop, the first one at once.
func (r *Reclaimer) Start() {
	r.Wake()
	go r.loop()
}

// Stop ends the background work and waits for it (an interrupted pass
// resumes at the next start).
func (r *Reclaimer) Stop() {
	r.once.Do(func() { close(r.stop) })
	<-r.done
}

// Wake asks for a pass now (a namespace was just deleted). It never
// blocks.
func (r *Reclaimer) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Reclaimer) loop() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel()
	}()
	for {
		timer := r.opts.Clock.AfterFunc(r.opts.Interval, r.Wake)
		select {
		case <-r.stop:
			timer.Stop()
			return
		case <-r.wake:
		}
		timer.Stop()
		if r.pass(ctx) {
			// Work remains: go on soon, without waiting a full interval.
			r.opts.Clock.AfterFunc(time.Second, r.Wake)
		}
	}
}

// pass works on every deleted namespace once and reports whether any
// still has data (or is waiting out its quiet period).
func (r *Reclaimer) pass(ctx context.Context) (more bool) {
	all, err := r.opts.Namespaces.List(ctx)
	if err != nil {
		r.log.Warn("namespace reclaim: listing namespaces", "error", err)
		return true
	}
	for _, ns := range all {
		if !ns.Deleted() {
			continue
		}
		done, err := r.reclaim(ctx, ns)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("namespace reclaim failed; retrying later", "namespace", ns.Name, "namespace_id", ns.ID, "error", err)
			}
			more = true
			continue
		}
		more = more || !done
	}
	return more
}

// reclaim deletes up to maxDeletesPerPass runs of ns and, once ns has
// listed no runs for the quiet period, its search attributes and record.
// It reports whether ns is gone.
func (r *Reclaimer) reclaim(ctx context.Context, ns *namespace.Namespace) (bool, error) {
	if noSchedules, err := r.deleteSchedules(ctx, ns); err != nil || !noSchedules {
		return false, err
	}
	if err := r.closeBatchJobs(ctx, ns); err != nil {
		return false, err
	}
	attempted, err := r.deleteRuns(ctx, ns)
	if attempted > 0 || err != nil {
		if attempted > 0 {
			r.log.Info("namespace reclaim: deleted runs", "namespace", ns.Name, "namespace_id", ns.ID, "runs", attempted)
		}
		delete(r.emptySince, ns.ID)
		return false, err
	}
	now := r.opts.Clock.Now()
	since, seen := r.emptySince[ns.ID]
	if !seen {
		r.emptySince[ns.ID] = now
		return false, nil
	}
	if now.Sub(since) < r.opts.QuietPeriod {
		return false, nil
	}
	if err := r.removeSearchAttributes(ctx, ns.ID); err != nil {
		return false, err
	}
	if err := r.removeBatchJobs(ctx, ns.ID); err != nil {
		return false, err
	}
	if err := r.opts.Namespaces.Remove(ctx, ns.ID); err != nil {
		return false, err
	}
	delete(r.emptySince, ns.ID)
	r.log.Info("namespace reclaimed", "namespace", ns.Name, "namespace_id", ns.ID)
	return true, nil
}

// deleteRuns pages through the runs ns lists and deletes up to
// maxDeletesPerPass of them. A run that fails to delete is skipped (the
// next pass tries it again), so one bad run never holds up the others;
// the first failure is returned with the count. Paging stays correct
// while rows are deleted (keyset paging, see VisibilityStore).
func (r *Reclaimer) deleteRuns(ctx context.Context, ns *namespace.Namespace) (attempted int, err error) {
	var token []byte
	failed := 0
	var first error
	for attempted < maxDeletesPerPass {
		page, err := r.opts.Visibility.ListVisibility(ctx, &persistence.ListVisibilityRequest{
			NamespaceID: ns.ID, PageSize: min(reclaimPageSize, maxDeletesPerPass-attempted), NextPageToken: token})
		if err != nil {
			return attempted, err
		}
		for _, rec := range page.Records {
			attempted++
			if err := r.deleteRun(ctx, ns.ID, rec); err != nil {
				if ctx.Err() != nil {
					return attempted, ctx.Err()
				}
				failed++
				if first == nil {
					first = err
				}
			}
		}
		if token = page.NextPageToken; len(token) == 0 {
			break
		}
	}
	if failed > 0 {
		return attempted, fmt.Errorf("%d of %d runs not deleted, the first: %w", failed, attempted, first)
	}
	return attempted, nil
}

// deleteRun deletes one listed run. A record whose run is already gone is
// deleted by itself, so it cannot be listed again forever.
func (r *Reclaimer) deleteRun(ctx context.Context, nsID string, rec *persistence.VisibilityRecord) error {
	err := r.opts.History.DeleteWorkflowExecution(ctx, nsID,
		&commonpb.WorkflowExecution{WorkflowId: rec.WorkflowID, RunId: rec.RunID})
	if errors.Is(err, history.ErrWorkflowNotFound) {
		return r.opts.Visibility.DeleteVisibility(ctx, nsID, rec.WorkflowID, rec.RunID)
	}
	return err
}

func (r *Reclaimer) removeSearchAttributes(ctx context.Context, nsID string) error {
	if r.opts.SearchAttributes == nil {
		return nil
	}
	defs, err := r.opts.Visibility.GetSearchAttributes(ctx, nsID)
	if err != nil || len(defs) == 0 {
		return err
	}
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	sort.Strings(names)
	err = r.opts.SearchAttributes.Remove(ctx, nsID, names)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil // removed meanwhile; the next pass sees what is left
	}
	return err
}

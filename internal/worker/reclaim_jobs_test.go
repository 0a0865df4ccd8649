package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/persistence/sqlite"
)

// jobsHarness is a harness whose reclaimer also removes schedules and
// batch jobs, kept in a real (in-memory SQLite) store.
func jobsHarness(t *testing.T) (*harness, *sqlite.Store) {
	t.Helper()
	h := newHarness(t)
	store, err := sqlite.Open(sqlite.MemoryPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h.r = NewReclaimer(ReclaimOptions{Namespaces: h.reg, History: h.runs, Visibility: h.runs, SearchAttributes: h.runs,
		Schedules: store, BatchJobs: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: h.clock,
		QuietPeriod: 10 * time.Second})
	return h, store
}

// withJobs gives namespace nsID n schedules (all due now), a running
// batch job "run" and a completed one "done".
func withJobs(t *testing.T, store *sqlite.Store, nsID string, n int, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if err := store.CreateSchedule(ctx, &persistence.ScheduleRecord{NamespaceID: nsID,
			ScheduleID: fmt.Sprintf("s-%04d", i), NextRunTime: now, Data: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"run", "done"} {
		if err := store.CreateBatchJob(ctx, &persistence.BatchJob{NamespaceID: nsID, JobID: id,
			State: persistence.BatchJobRunning, StartTime: now, Data: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.CloseBatchJob(ctx, nsID, "done", "", persistence.BatchJobCompleted, now, nil); err != nil {
		t.Fatal(err)
	}
}

// TestReclaimRemovesSchedulesAndBatchJobs: the first pass deletes the
// namespace's schedules (bounded per pass), then closes its running batch
// job as failed before the runs go; the job rows go with the record.
// Another namespace keeps everything.
func TestReclaimRemovesSchedulesAndBatchJobs(t *testing.T) {
	ctx := context.Background()
	h, store := jobsHarness(t)
	doomed := h.namespaceWithRuns(t, "doomed", 3)
	kept := h.namespaceWithRuns(t, "kept", 1)
	withJobs(t, store, doomed, maxDeletesPerPass+5, h.clock.now)
	withJobs(t, store, kept, 2, h.clock.now)
	if _, err := h.reg.MarkDeleted(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}

	if !h.r.pass(ctx) {
		t.Fatal("first pass: want more work reported")
	}
	if n, _ := store.CountSchedules(ctx, doomed); n != 5 {
		t.Fatalf("schedules left after one pass: %d, want 5", n)
	}
	if j, _ := store.GetBatchJob(ctx, doomed, "run"); j.State != persistence.BatchJobRunning {
		t.Fatalf("the batch job closed before the schedules were gone: state %d", j.State)
	}
	h.r.pass(ctx)
	if n, _ := store.CountSchedules(ctx, doomed); n != 0 {
		t.Fatalf("schedules left after two passes: %d", n)
	}
	due, err := store.DueSchedules(ctx, h.clock.now, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range due {
		if rec.NamespaceID == doomed {
			t.Fatalf("the scheduler still finds %s due", rec.ScheduleID)
		}
	}
	j, err := store.GetBatchJob(ctx, doomed, "run")
	if err != nil || j.State != persistence.BatchJobFailed || !j.CloseTime.Equal(h.clock.now) {
		t.Fatalf("running job after the pass: %+v, %v; want closed failed at %v", j, err, h.clock.now)
	}
	if j, _ := store.GetBatchJob(ctx, doomed, "done"); j.State != persistence.BatchJobCompleted {
		t.Fatalf("a closed job changed: state %d", j.State)
	}
	if n := h.runs.count(doomed); n != 0 {
		t.Fatalf("runs left: %d", n)
	}

	h.r.pass(ctx) // starts the quiet period
	h.clock.now = h.clock.now.Add(11 * time.Second)
	if h.r.pass(ctx) {
		t.Fatal("pass after the quiet period: want no more work")
	}
	if _, err := h.reg.GetByID(ctx, doomed); !errors.Is(err, namespace.ErrNotFound) {
		t.Fatalf("record after reclaim: %v", err)
	}
	if jobs, _ := store.ListBatchJobs(ctx, doomed, nil, 10); len(jobs) != 0 {
		t.Fatalf("batch jobs left: %d", len(jobs))
	}
	if n, _ := store.CountSchedules(ctx, kept); n != 2 {
		t.Fatalf("live namespace's schedules: %d, want 2", n)
	}
	if n, _ := store.CountRunningBatchJobs(ctx, kept); n != 1 {
		t.Fatalf("live namespace's running jobs: %d, want 1", n)
	}
}

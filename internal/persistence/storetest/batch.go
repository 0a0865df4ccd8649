package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

func batchJob(ns, id string, start time.Time) *persistence.BatchJob {
	return &persistence.BatchJob{NamespaceID: ns, JobID: id, State: persistence.BatchJobRunning, StartTime: start,
		Data: []byte("def-" + id), Progress: persistence.BatchProgress{Total: 10}}
}

// batchIDs renders the namespace's job listing, read in pages of size page.
func (f *fixture) batchIDs(ns string, page int) string {
	f.Helper()
	var out []string
	var after *persistence.BatchJobKey
	for {
		js, err := f.s.ListBatchJobs(f.ctx, ns, after, page)
		f.must(err, "ListBatchJobs")
		for _, j := range js {
			out = append(out, j.JobID)
			after = &persistence.BatchJobKey{StartTime: j.StartTime, JobID: j.JobID}
		}
		if len(js) < page {
			return "[" + strings.Join(out, " ") + "]"
		}
	}
}

func (f *fixture) getBatch(ns, id string) *persistence.BatchJob {
	f.Helper()
	j, err := f.s.GetBatchJob(f.ctx, ns, id)
	f.must(err, "GetBatchJob")
	return j
}

func renderBatch(j *persistence.BatchJob) string {
	p := j.Progress
	return fmt.Sprintf("%s/%s state=%d start=%s close=%s data=%s total=%d ok=%d failed=%d cursor=%q",
		j.NamespaceID, j.JobID, j.State, j.StartTime.UTC().Format(time.RFC3339Nano), j.CloseTime.UTC().Format(time.RFC3339Nano),
		j.Data, p.Total, p.Completed, p.Failed, p.Cursor)
}

var batchTests = map[string]func(*fixture){
	"LeasesFenceTheRunner": func(f *fixture) {
		f.must(f.s.CreateBatchJob(f.ctx, batchJob(testNamespace, "j", t0)), "CreateBatchJob")
		lease := t0.Add(30 * time.Second)
		f.must(f.s.ClaimBatchJob(f.ctx, testNamespace, "j", "p1", t0, lease), "p1 claims")
		if j := f.getBatch(testNamespace, "j"); j.LeaseOwner != "p1" || !j.LeaseExpiry.Equal(lease) {
			f.Errorf("lease = %q until %v, want p1 until %v", j.LeaseOwner, j.LeaseExpiry, lease)
		}
		f.wantIs(f.s.ClaimBatchJob(f.ctx, testNamespace, "j", "p2", t0.Add(time.Second), lease), persistence.ErrConditionFailed, "p2 while p1's lease lasts")
		f.must(f.s.ClaimBatchJob(f.ctx, testNamespace, "j", "p1", t0.Add(time.Second), lease.Add(time.Second)), "p1 renews")
		f.must(f.s.UpdateBatchProgress(f.ctx, testNamespace, "j", "p1", persistence.BatchProgress{Completed: 1}), "p1's progress")
		f.wantIs(f.s.UpdateBatchProgress(f.ctx, testNamespace, "j", "p2", persistence.BatchProgress{Completed: 9}), persistence.ErrConditionFailed, "p2's progress")
		// p1 dies: p2 takes over after the expiry; p1's writes fail.
		f.must(f.s.ClaimBatchJob(f.ctx, testNamespace, "j", "p2", lease.Add(time.Second), lease.Add(time.Minute)), "p2 takes over")
		f.wantIs(f.s.UpdateBatchProgress(f.ctx, testNamespace, "j", "p1", persistence.BatchProgress{Completed: 9}), persistence.ErrConditionFailed, "p1's late progress")
		f.wantIs(f.s.CloseBatchJob(f.ctx, testNamespace, "j", "p1", persistence.BatchJobCompleted, t0, nil), persistence.ErrConditionFailed, "p1's late close")
		if j := f.getBatch(testNamespace, "j"); j.Progress.Completed != 1 || j.State != persistence.BatchJobRunning {
			f.Errorf("job after p1's late writes: %s", renderBatch(j))
		}
		f.must(f.s.CloseBatchJob(f.ctx, testNamespace, "j", "p2", persistence.BatchJobCompleted, t0, nil), "p2 closes")
		f.wantIs(f.s.ClaimBatchJob(f.ctx, testNamespace, "j", "p2", lease, lease), persistence.ErrConditionFailed, "claim of a closed job")
		f.wantIs(f.s.ClaimBatchJob(f.ctx, testNamespace, "missing", "p2", lease, lease), persistence.ErrNotFound, "claim of a missing job")
	},
	"DeleteRemovesTheNamespacesJobs": func(f *fixture) {
		for _, id := range []string{"a", "b"} {
			f.must(f.s.CreateBatchJob(f.ctx, batchJob(testNamespace, id, t0)), "CreateBatchJob "+id)
		}
		f.must(f.s.CloseBatchJob(f.ctx, testNamespace, "b", "", persistence.BatchJobCompleted, t0.Add(time.Second), nil), "CloseBatchJob b")
		f.must(f.s.CreateBatchJob(f.ctx, batchJob("ns-id-2", "a", t0)), "CreateBatchJob in another namespace")
		n, err := f.s.DeleteBatchJobs(f.ctx, testNamespace)
		f.must(err, "DeleteBatchJobs")
		if n != 2 {
			f.Errorf("DeleteBatchJobs removed %d jobs, want 2", n)
		}
		if got := f.batchIDs(testNamespace, 10); got != "[]" {
			f.Errorf("jobs left = %s", got)
		}
		f.wantIs(f.s.UpdateBatchProgress(f.ctx, testNamespace, "a", "", persistence.BatchProgress{Completed: 1}),
			persistence.ErrNotFound, "UpdateBatchProgress of a removed job")
		if got := f.batchIDs("ns-id-2", 10); got != "[a]" {
			f.Errorf("other namespace's jobs = %s, want [a]", got)
		}
		n, err = f.s.DeleteBatchJobs(f.ctx, testNamespace)
		f.must(err, "DeleteBatchJobs again")
		if n != 0 {
			f.Errorf("second DeleteBatchJobs removed %d", n)
		}
	},
	"CreateGetRoundTripsAndRefusesDuplicates": func(f *fixture) {
		j := batchJob(testNamespace, "job-1", t0)
		f.must(f.s.CreateBatchJob(f.ctx, j), "CreateBatchJob")
		got := f.getBatch(testNamespace, "job-1")
		if renderBatch(got) != renderBatch(j) || !got.CloseTime.IsZero() || got.Progress.Cursor != nil {
			f.Errorf("GetBatchJob = %s\nwant          %s", renderBatch(got), renderBatch(j))
		}
		dup := batchJob(testNamespace, "job-1", t0.Add(time.Hour))
		f.wantIs(f.s.CreateBatchJob(f.ctx, dup), persistence.ErrAlreadyExists, "duplicate CreateBatchJob")
		if renderBatch(f.getBatch(testNamespace, "job-1")) != renderBatch(j) {
			f.Errorf("a refused duplicate changed the job")
		}
		f.must(f.s.CreateBatchJob(f.ctx, batchJob("ns-id-2", "job-1", t0)), "same job ID in another namespace")
		_, err := f.s.GetBatchJob(f.ctx, testNamespace, "missing")
		f.wantIs(err, persistence.ErrNotFound, "GetBatchJob of a missing job")
	},
	"ProgressOnlyWhileRunning": func(f *fixture) {
		f.must(f.s.CreateBatchJob(f.ctx, batchJob(testNamespace, "job-1", t0)), "CreateBatchJob")
		p := persistence.BatchProgress{Total: 10, Completed: 3, Failed: 1, Cursor: []byte("c3")}
		f.must(f.s.UpdateBatchProgress(f.ctx, testNamespace, "job-1", "", p), "UpdateBatchProgress")
		f.must(f.s.UpdateBatchProgress(f.ctx, testNamespace, "job-1", "", p), "UpdateBatchProgress with the same values")
		got := f.getBatch(testNamespace, "job-1")
		if got.Progress.Completed != 3 || got.Progress.Failed != 1 || !bytes.Equal(got.Progress.Cursor, []byte("c3")) {
			f.Errorf("progress = %+v", got.Progress)
		}
		closeAt := t0.Add(time.Minute)
		f.must(f.s.CloseBatchJob(f.ctx, testNamespace, "job-1", "", persistence.BatchJobFailed, closeAt, nil), "CloseBatchJob")
		before := renderBatch(f.getBatch(testNamespace, "job-1"))
		if !strings.Contains(before, "state=3") || !f.getBatch(testNamespace, "job-1").CloseTime.Equal(closeAt) {
			f.Errorf("closed job = %s", before)
		}
		f.wantIs(f.s.UpdateBatchProgress(f.ctx, testNamespace, "job-1", "", persistence.BatchProgress{Completed: 9}),
			persistence.ErrConditionFailed, "UpdateBatchProgress of a closed job")
		f.wantIs(f.s.CloseBatchJob(f.ctx, testNamespace, "job-1", "", persistence.BatchJobCompleted, closeAt, nil),
			persistence.ErrConditionFailed, "second CloseBatchJob")
		if after := renderBatch(f.getBatch(testNamespace, "job-1")); after != before {
			f.Errorf("refused writes changed the job:\n%s\n%s", after, before)
		}
		f.wantIs(f.s.UpdateBatchProgress(f.ctx, testNamespace, "missing", "", p), persistence.ErrNotFound, "UpdateBatchProgress of a missing job")
		f.wantIs(f.s.CloseBatchJob(f.ctx, testNamespace, "missing", "", persistence.BatchJobFailed, closeAt, nil),
			persistence.ErrNotFound, "CloseBatchJob of a missing job")
	},
	"CloseWritesFinalProgress": func(f *fixture) {
		f.must(f.s.CreateBatchJob(f.ctx, batchJob(testNamespace, "job-1", t0)), "CreateBatchJob")
		p := &persistence.BatchProgress{Total: 7, Completed: 6, Failed: 1, Cursor: []byte("end")}
		f.must(f.s.CloseBatchJob(f.ctx, testNamespace, "job-1", "", persistence.BatchJobCompleted, t0.Add(time.Second), p), "CloseBatchJob")
		got := f.getBatch(testNamespace, "job-1")
		if got.State != persistence.BatchJobCompleted || got.Progress.Total != 7 || got.Progress.Completed != 6 || got.Progress.Failed != 1 {
			f.Errorf("closed job = %s", renderBatch(got))
		}
	},
	"ListsNewestFirstAndRunning": func(f *fixture) {
		for i, id := range []string{"b", "a", "c", "d"} {
			start := t0.Add(time.Duration(i) * time.Second)
			if id == "a" {
				start = t0.Add(2 * time.Second) // same start as "c": job ID breaks the tie
			}
			f.must(f.s.CreateBatchJob(f.ctx, batchJob(testNamespace, id, start)), "CreateBatchJob "+id)
		}
		f.must(f.s.CreateBatchJob(f.ctx, batchJob("ns-id-2", "other", t0)), "CreateBatchJob other")
		f.must(f.s.CloseBatchJob(f.ctx, testNamespace, "c", "", persistence.BatchJobCompleted, t0.Add(time.Hour), nil), "CloseBatchJob c")
		for _, page := range []int{1, 2, 10} {
			if got := f.batchIDs(testNamespace, page); got != "[d a c b]" {
				f.Errorf("ListBatchJobs in pages of %d = %s, want [d a c b]", page, got)
			}
		}
		n, err := f.s.CountRunningBatchJobs(f.ctx, testNamespace)
		f.must(err, "CountRunningBatchJobs")
		if n != 3 {
			f.Errorf("CountRunningBatchJobs = %d, want 3", n)
		}
		running, err := f.s.ListRunningBatchJobs(f.ctx, 10)
		f.must(err, "ListRunningBatchJobs")
		var ids []string
		for _, j := range running {
			ids = append(ids, j.NamespaceID+"/"+j.JobID)
		}
		if got := strings.Join(ids, " "); got != "ns-id-1/b ns-id-2/other ns-id-1/a ns-id-1/d" {
			f.Errorf("ListRunningBatchJobs = %s", got)
		}
		if two, _ := f.s.ListRunningBatchJobs(f.ctx, 2); len(two) != 2 {
			f.Errorf("ListRunningBatchJobs(limit 2) returned %d jobs", len(two))
		}
	},
}

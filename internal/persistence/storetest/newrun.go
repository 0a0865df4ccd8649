package storetest

import (
	"errors"

	"github.com/sundialhq/sundial/internal/persistence"
)

// newRunTests pin UpdateWorkflow.NewRun (continue-as-new, retry, cron) and
// DeleteWorkflow.
var newRunTests = map[string]func(*fixture){
	"NewRunIsAtomicWithTheClose": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		closeReq := updateReq(1, r, key("wf", "run-1"), 1, 4, 101)
		closeReq.UpdateCurrent, closeReq.CurrentState, closeReq.CurrentStatus = true, persistence.RunStateClosed, 6
		next := createReq(1, r, "wf", "run-2", 200)
		next.Mode, next.PreviousRunID = persistence.CurrentReplace, "run-1"
		closeReq.NewRun = next
		f.must(f.s.UpdateWorkflow(f.ctx, closeReq), "close run-1 with run-2")
		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if *cur != next.Current {
			f.Errorf("current run %+v, want %+v", *cur, next.Current)
		}
		f.wantEvents(f.history(1, key("wf", "run-2")), 1, 2, 3)
		if old, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1")); err != nil || old.Version != 2 {
			f.Errorf("old run after the close: %+v, %v", old, err)
		}
	},
	"NewRunConflictWritesNothing": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		before := f.snapshot(1, key("wf", "run-1"), key("wf", "run-2"))
		closeReq := updateReq(1, r, key("wf", "run-1"), 1, 4, 101)
		next := createReq(1, r, "wf", "run-2", 200)
		next.Mode, next.PreviousRunID = persistence.CurrentReplace, "run-1"
		next.Current.RunID, next.PreviousRunID = "run-2", "run-1"
		closeReq.NewRun = next
		closeReq.ExpectedVersion = 7 // stale: the whole transaction must roll back
		err := f.s.UpdateWorkflow(f.ctx, closeReq)
		if !errors.Is(err, persistence.ErrConditionFailed) {
			f.Fatalf("stale close with a new run: %v, want ErrConditionFailed", err)
		}
		f.wantUnchanged(before, 1, key("wf", "run-1"), key("wf", "run-2"))
	},
	"DeleteRemovesRunHistoryAndCurrent": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		f.must(f.s.DeleteWorkflow(f.ctx, 1, r, key("wf", "run-1")), "DeleteWorkflow")
		if _, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1")); !errors.Is(err, persistence.ErrNotFound) {
			f.Errorf("GetWorkflow after delete: %v", err)
		}
		if _, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf"); !errors.Is(err, persistence.ErrNotFound) {
			f.Errorf("GetCurrentRun after delete: %v", err)
		}
		if h := f.history(1, key("wf", "run-1")); len(h) != 0 {
			f.Errorf("%d events left", len(h))
		}
		f.must(f.s.DeleteWorkflow(f.ctx, 1, r, key("wf", "run-1")), "DeleteWorkflow again")
	},
	"DeleteIsFenced": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		f.acquire(1)
		var lost *persistence.ShardOwnershipLostError
		if err := f.s.DeleteWorkflow(f.ctx, 1, r, key("wf", "run-1")); !errors.As(err, &lost) {
			f.Fatalf("delete with a stale range: %v", err)
		}
		if _, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1")); err != nil {
			f.Errorf("a fenced delete removed the run: %v", err)
		}
	},
}

package storetest

import (
	"github.com/sundialhq/sundial/internal/persistence"
)

var createTests = map[string]func(*fixture){
	"BrandNew": func(f *fixture) {
		r := f.acquire(1)
		req := createReq(1, r, "wf", "run-1", 100)
		f.create(req)

		rec, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1"))
		f.must(err, "GetWorkflow")
		wantBytes(f.T, rec.State, req.State, "State")
		if rec.NextEventID != 4 || rec.Version != 1 {
			f.Errorf("NextEventID %d Version %d, want 4 and 1", rec.NextEventID, rec.Version)
		}
		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if *cur != req.Current {
			f.Errorf("current run %+v, want %+v", *cur, req.Current)
		}
		evs := f.history(1, key("wf", "run-1"))
		f.wantEvents(evs, 1, 2, 3)
		wantBytes(f.T, evs[1].Data, req.Events[1].Data, "event 2 data")
		if tr := f.outbox(1, persistence.CategoryTransfer); len(tr) != 1 || tr[0].TaskID != 100 {
			f.Errorf("transfer tasks %+v, want task 100", tr)
		}
		if tm := f.outbox(1, persistence.CategoryTimer); len(tm) != 1 || tm[0].TaskID != 100 {
			f.Errorf("timer tasks %+v, want task 100", tm)
		}
	},
	"BrandNewConflictReturnsCurrent": func(f *fixture) {
		r := f.acquire(1)
		first := createReq(1, r, "wf", "run-1", 100)
		f.create(first)
		before := f.snapshot(1, key("wf", "run-1"), key("wf", "run-2"))

		err := f.s.CreateWorkflow(f.ctx, createReq(1, r, "wf", "run-2", 200))
		f.wantConflict(err, first.Current, "second brand-new run")
		f.wantUnchanged(before, 1, key("wf", "run-1"), key("wf", "run-2"))
	},
	"ReplaceMovesCurrent": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		closeReq := updateReq(1, r, key("wf", "run-1"), 1, 4, 101)
		closeReq.UpdateCurrent, closeReq.CurrentState, closeReq.CurrentStatus = true, persistence.RunStateClosed, 2
		f.must(f.s.UpdateWorkflow(f.ctx, closeReq), "close run-1")

		next := createReq(1, r, "wf", "run-2", 200)
		next.Mode, next.PreviousRunID = persistence.CurrentReplace, "run-1"
		f.create(next)

		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if *cur != next.Current {
			f.Errorf("current run %+v, want %+v", *cur, next.Current)
		}
		old, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1"))
		f.must(err, "GetWorkflow run-1")
		if old.Version != 2 {
			f.Errorf("run-1 version %d, want 2 (untouched by the replace)", old.Version)
		}
		f.wantEvents(f.history(1, key("wf", "run-2")), 1, 2, 3)
		f.wantEvents(f.history(1, key("wf", "run-1")), 1, 2, 3, 4, 5)
	},
	"ReplaceWrongPreviousConflicts": func(f *fixture) {
		r := f.acquire(1)
		first := createReq(1, r, "wf", "run-1", 100)
		f.create(first)
		before := f.snapshot(1, key("wf", "run-1"), key("wf", "run-2"))

		next := createReq(1, r, "wf", "run-2", 200)
		next.Mode, next.PreviousRunID = persistence.CurrentReplace, "run-0"
		f.wantConflict(f.s.CreateWorkflow(f.ctx, next), first.Current, "replace with a wrong previous run")
		f.wantUnchanged(before, 1, key("wf", "run-1"), key("wf", "run-2"))
	},
	"ReplaceWithoutCurrentFails": func(f *fixture) {
		r := f.acquire(1)
		before := f.snapshot(1, key("wf", "run-1"))
		req := createReq(1, r, "wf", "run-1", 100)
		req.Mode, req.PreviousRunID = persistence.CurrentReplace, "run-0"
		f.wantIs(f.s.CreateWorkflow(f.ctx, req), persistence.ErrConditionFailed, "replace with no current row")
		f.wantUnchanged(before, 1, key("wf", "run-1"))
	},
	"RunAlreadyExists": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		before := f.snapshot(1, key("wf", "run-1"))

		// The current row permits the replace, but the run row exists.
		again := createReq(1, r, "wf", "run-1", 200)
		again.Mode, again.PreviousRunID = persistence.CurrentReplace, "run-1"
		again.Current.CreateRequestID = "another-request"
		f.wantIs(f.s.CreateWorkflow(f.ctx, again), persistence.ErrAlreadyExists, "create of an existing run")
		f.wantUnchanged(before, 1, key("wf", "run-1"))
	},
	"IsolatedByShardAndNamespace": func(f *fixture) {
		r1, r2 := f.acquire(1), f.acquire(2)
		f.create(createReq(1, r1, "wf", "run-1", 100))
		// The same workflow ID in another shard is another workflow.
		f.create(createReq(2, r2, "wf", "run-2", 100))
		other := createReq(1, r1, "wf", "run-3", 300)
		other.Current.NamespaceID = "ns-id-2"
		f.create(other)
		_, err := f.s.GetWorkflow(f.ctx, 2, key("wf", "run-1"))
		f.wantIs(err, persistence.ErrNotFound, "run of shard 1 read through shard 2")
		cur, err := f.s.GetCurrentRun(f.ctx, 1, "ns-id-2", "wf")
		f.must(err, "GetCurrentRun ns-id-2")
		if cur.RunID != "run-3" {
			f.Errorf("current run of ns-id-2 = %s, want run-3", cur.RunID)
		}
	},
	"NotFound": func(f *fixture) {
		_, err := f.s.GetWorkflow(f.ctx, 1, key("wf", "run-1"))
		f.wantIs(err, persistence.ErrNotFound, "GetWorkflow")
		_, err = f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.wantIs(err, persistence.ErrNotFound, "GetCurrentRun")
	},
}

var updateTests = map[string]func(*fixture){
	"Success": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", 100))
		req := updateReq(1, r, k, 1, 4, 101)
		req.Tasks = append(req.Tasks, timer(t0, 102))
		f.must(f.s.UpdateWorkflow(f.ctx, req), "UpdateWorkflow")

		rec, err := f.s.GetWorkflow(f.ctx, 1, k)
		f.must(err, "GetWorkflow")
		wantBytes(f.T, rec.State, req.State, "State")
		if rec.NextEventID != 6 || rec.Version != 2 {
			f.Errorf("NextEventID %d Version %d, want 6 and 2", rec.NextEventID, rec.Version)
		}
		f.wantEvents(f.history(1, k), 1, 2, 3, 4, 5)
		if n := len(f.outbox(1, persistence.CategoryTransfer)); n != 2 {
			f.Errorf("%d transfer tasks, want 2", n)
		}
		if n := len(f.outbox(1, persistence.CategoryTimer)); n != 2 {
			f.Errorf("%d timer tasks, want 2", n)
		}
		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if cur.State != persistence.RunStateRunning || cur.Status != 1 {
			f.Errorf("current row changed without UpdateCurrent: %+v", *cur)
		}
		f.must(f.s.UpdateWorkflow(f.ctx, updateReq(1, r, k, 2, 6, 103)), "second UpdateWorkflow")
	},
	"StaleVersionWritesNothing": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", 100))
		f.must(f.s.UpdateWorkflow(f.ctx, updateReq(1, r, k, 1, 4, 101)), "UpdateWorkflow")
		before := f.snapshot(1, k)

		stale := updateReq(1, r, k, 1, 6, 102)
		stale.Tasks = append(stale.Tasks, timer(t0, 103))
		stale.UpdateCurrent, stale.CurrentState, stale.CurrentStatus = true, persistence.RunStateClosed, 3
		f.wantIs(f.s.UpdateWorkflow(f.ctx, stale), persistence.ErrConditionFailed, "stale version")
		future := updateReq(1, r, k, 3, 6, 104)
		f.wantIs(f.s.UpdateWorkflow(f.ctx, future), persistence.ErrConditionFailed, "future version")
		f.wantUnchanged(before, 1, k)
	},
	"MissingRun": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		before := f.snapshot(1, k)
		f.wantIs(f.s.UpdateWorkflow(f.ctx, updateReq(1, r, k, 1, 4, 101)), persistence.ErrConditionFailed, "missing run")
		f.wantUnchanged(before, 1, k)
	},
	"OverlappingEventsWriteNothing": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", 100))
		before := f.snapshot(1, k)

		req := updateReq(1, r, k, 1, 3, 101) // events 3..4; 3 exists
		req.UpdateCurrent, req.CurrentState = true, persistence.RunStateClosed
		f.wantIs(f.s.UpdateWorkflow(f.ctx, req), persistence.ErrConditionFailed, "overlapping event IDs")
		f.wantUnchanged(before, 1, k)
	},
	"UpdateCurrent": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", 100))
		req := updateReq(1, r, k, 1, 4, 101)
		req.UpdateCurrent, req.CurrentState, req.CurrentStatus = true, persistence.RunStateClosed, 2
		f.must(f.s.UpdateWorkflow(f.ctx, req), "UpdateWorkflow with UpdateCurrent")
		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if cur.RunID != "run-1" || cur.State != persistence.RunStateClosed || cur.Status != 2 ||
			cur.CreateRequestID != "req-run-1" {
			f.Errorf("current row %+v, want run-1 closed with status 2 and its request ID", *cur)
		}
	},
	"UpdateCurrentLeavesOtherRunsPointer": func(f *fixture) {
		r := f.acquire(1)
		f.create(createReq(1, r, "wf", "run-1", 100))
		next := createReq(1, r, "wf", "run-2", 200)
		next.Mode, next.PreviousRunID = persistence.CurrentReplace, "run-1"
		f.create(next)

		// run-1 is no longer current: its UpdateCurrent must not touch
		// run-2's pointer, and the update itself still succeeds.
		req := updateReq(1, r, key("wf", "run-1"), 1, 4, 101)
		req.UpdateCurrent, req.CurrentState, req.CurrentStatus = true, persistence.RunStateClosed, 4
		f.must(f.s.UpdateWorkflow(f.ctx, req), "UpdateWorkflow of a non-current run")
		cur, err := f.s.GetCurrentRun(f.ctx, 1, testNamespace, "wf")
		f.must(err, "GetCurrentRun")
		if *cur != next.Current {
			f.Errorf("current row %+v, want %+v", *cur, next.Current)
		}
	},
}

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

var concurrencyTests = map[string]func(*fixture){
	"OneUpdateWinsPerVersion": func(f *fixture) {
		const n = 16
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", 100))

		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			// No events: only the version condition can stop the losers.
			req := updateReq(1, r, k, 1, 4, int64(1000+i))
			req.Events, req.NextEventID = nil, 4
			wg.Go(func() { errs[i] = f.s.UpdateWorkflow(f.ctx, req) })
		}
		wg.Wait()
		winners := 0
		for _, err := range errs {
			switch {
			case err == nil:
				winners++
			case !errors.Is(err, persistence.ErrConditionFailed):
				f.Errorf("loser got %v, want ErrConditionFailed", err)
			}
		}
		if winners != 1 {
			f.Fatalf("%d updates with the same expected version succeeded, want exactly 1", winners)
		}
		rec, err := f.s.GetWorkflow(f.ctx, 1, k)
		f.must(err, "GetWorkflow")
		if rec.Version != 2 {
			f.Errorf("version %d, want 2", rec.Version)
		}
		if got := f.outbox(1, persistence.CategoryTransfer); len(got) != 2 {
			f.Errorf("%d transfer tasks, want 2 (the create's and the winner's)", len(got))
		}
	},
	"ConcurrentOutboxCompletions": func(f *fixture) {
		// Many concurrent completions: each deletes exactly its own task; a missing task or a timer
		// named with the wrong time deletes nothing.
		const n = 40
		r := f.acquire(1)
		for i := range n {
			f.create(createReq(1, r, fmt.Sprintf("wf-%d", i), "run", int64(100+i)))
		}
		errs := make([]error, 4*n)
		var wg sync.WaitGroup
		for i := range n {
			id := int64(100 + i)
			at := t0.Add(time.Duration(id) * time.Second)
			wg.Go(func() {
				errs[4*i] = f.complete(1, r, persistence.CategoryTransfer, time.Time{}, id)
			})
			wg.Go(func() {
				errs[4*i+1] = f.complete(1, r, persistence.CategoryTransfer, time.Time{}, id+10_000)
			})
			wg.Go(func() {
				if i%2 == 0 {
					errs[4*i+2] = f.complete(1, r, persistence.CategoryTimer, at, id)
				} else {
					errs[4*i+2] = f.complete(1, r, persistence.CategoryTimer, at.Add(time.Nanosecond), id)
				}
			})
			wg.Go(func() {
				errs[4*i+3] = f.complete(2, r, persistence.CategoryTransfer, time.Time{}, id)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				f.Errorf("completion %d: %v", i, err)
			}
		}
		f.wantLeft(persistence.CategoryTransfer, 0, func(int64) bool { return false })
		// Timers completed with the wrong time stay.
		f.wantLeft(persistence.CategoryTimer, n/2, func(id int64) bool { return (id-100)%2 == 1 })
	},
	"WritersAcrossWorkflows": func(f *fixture) {
		// Independent workflows of one shard update in parallel without
		// spurious failures.
		const n = 8
		r := f.acquire(1)
		for i := range n {
			f.create(createReq(1, r, "wf-"+string(rune('a'+i)), "run", int64(100+i)))
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				k := key("wf-"+string(rune('a'+i)), "run")
				for v := int64(1); v <= 5 && errs[i] == nil; v++ {
					errs[i] = f.s.UpdateWorkflow(f.ctx, updateReq(1, r, k, v, 2+2*v, int64(1000+10*i)+v))
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				f.Errorf("workflow %d: %v", i, err)
			}
		}
	},
}

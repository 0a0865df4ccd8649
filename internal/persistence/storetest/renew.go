package storetest

import (
	"fmt"

	"github.com/sundialhq/sundial/internal/persistence"
)

// taskIDBits mirrors how history and matching make task IDs:
// rangeID<<taskIDBits + sequence.
const taskIDBits = 20

var renewTests = map[string]func(*fixture){
	"RenewBumpsAndFencesTheOldRange": func(f *fixture) {
		old := fencingSetup(f)
		r, err := f.s.RenewShard(f.ctx, 1, old)
		f.must(err, "RenewShard with the current range ID")
		if r != old+1 {
			f.Fatalf("RenewShard = %d, want %d", r, old+1)
		}
		before := f.snapshot(1, fencedKeys...)
		f.wantShardLost(fencedWrites["Update"](f, old), 1, old, "write with the range ID before the renewal")
		f.wantUnchanged(before, 1, fencedKeys...)
		f.must(fencedWrites["Update"](f, r), "write with the renewed range ID")
	},
	"RenewNeverTakesTheShardBack": func(f *fixture) {
		old := fencingSetup(f)
		cur := f.acquire(1) // another owner
		_, err := f.s.RenewShard(f.ctx, 1, old)
		f.wantShardLost(err, 1, old, "RenewShard after another owner acquired")
		if next := f.acquire(1); next != cur+1 {
			f.Errorf("range ID after a refused renewal: AcquireShard = %d, want %d (the renewal changed it)", next, cur+1)
		}
		_, err = f.s.RenewShard(f.ctx, 5, 1)
		f.wantShardLost(err, 5, 1, "RenewShard of a shard never acquired")
	},
	// Task IDs are rangeID<<20 + seq: they must rise across every change
	// of range, whether by a new owner or a renewal, and the outbox must
	// return them in that order.
	"TaskIDsRiseAcross100Reacquisitions": func(f *fixture) {
		r := f.acquire(1)
		k := key("wf", "run-1")
		f.create(createReq(1, r, "wf", "run-1", r<<taskIDBits))
		last := r << taskIDBits
		for i := range 100 {
			next := f.acquire(1)
			if i%2 == 1 {
				var err error
				next, err = f.s.RenewShard(f.ctx, 1, next)
				f.must(err, "RenewShard")
			}
			if next <= r {
				f.Fatalf("re-acquisition %d: range ID %d after %d", i, next, r)
			}
			r = next
			id := r<<taskIDBits + int64(i%3)
			if id <= last {
				f.Fatalf("re-acquisition %d: task ID %d not above %d", i, id, last)
			}
			req := updateReq(1, r, k, int64(i+1), int64(4+2*i), id)
			f.must(f.s.UpdateWorkflow(f.ctx, req), fmt.Sprintf("update %d with range %d", i, r))
			last = id
		}
		got := f.outbox(1, persistence.CategoryTransfer)
		if len(got) != 101 {
			f.Fatalf("%d transfer tasks, want 101", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].TaskID <= got[i-1].TaskID {
				f.Fatalf("outbox order: task %d after %d", got[i].TaskID, got[i-1].TaskID)
			}
		}
	},
	"QueueTaskIDsRiseAcross100Leases": func(f *fixture) {
		var last int64
		for i := range 100 {
			r, _ := f.lease(tq)
			id := r<<taskIDBits + int64(i%3)
			if id <= last {
				f.Fatalf("lease %d: task ID %d not above %d", i, id, last)
			}
			f.must(f.s.CreateTasks(f.ctx, tq, r, queueTasks(id)), "CreateTasks")
			last = id
		}
		ts, err := f.s.GetTasks(f.ctx, tq, 0, 1000)
		f.must(err, "GetTasks")
		if len(ts) != 100 {
			f.Fatalf("%d tasks, want 100", len(ts))
		}
		for i := 1; i < len(ts); i++ {
			if ts[i].TaskID <= ts[i-1].TaskID {
				f.Fatalf("backlog order: task %d after %d", ts[i].TaskID, ts[i-1].TaskID)
			}
		}
	},
}

package storetest

import (
	"github.com/sundialhq/sundial/internal/persistence"
)

// fencedWrite is one kind of shard write, attempted with a given range ID
// against a shard that holds run-1 of "wf" at version 1.
type fencedWrite func(f *fixture, rangeID int64) error

var fencedWrites = map[string]fencedWrite{
	"CreateBrandNew": func(f *fixture, rangeID int64) error {
		return f.s.CreateWorkflow(f.ctx, createReq(1, rangeID, "wf-new", "run-9", 900))
	},
	"CreateReplace": func(f *fixture, rangeID int64) error {
		req := createReq(1, rangeID, "wf", "run-9", 900)
		req.Mode, req.PreviousRunID = persistence.CurrentReplace, "run-1"
		return f.s.CreateWorkflow(f.ctx, req)
	},
	"CreateConflicting": func(f *fixture, rangeID int64) error {
		// Would be a *CurrentRunConflictError with the right range ID; the
		// fence comes first.
		return f.s.CreateWorkflow(f.ctx, createReq(1, rangeID, "wf", "run-9", 900))
	},
	"Update": func(f *fixture, rangeID int64) error {
		return f.s.UpdateWorkflow(f.ctx, updateReq(1, rangeID, key("wf", "run-1"), 1, 4, 900))
	},
	"UpdateWithCurrent": func(f *fixture, rangeID int64) error {
		req := updateReq(1, rangeID, key("wf", "run-1"), 1, 4, 900)
		req.UpdateCurrent, req.CurrentState, req.CurrentStatus = true, persistence.RunStateClosed, 2
		return f.s.UpdateWorkflow(f.ctx, req)
	},
	"UpdateStateOnly": func(f *fixture, rangeID int64) error {
		req := updateReq(1, rangeID, key("wf", "run-1"), 1, 4, 900)
		req.Events, req.Tasks, req.NextEventID = nil, nil, 4
		return f.s.UpdateWorkflow(f.ctx, req)
	},
}

var fencingTests = map[string]func(*fixture){}

func init() {
	for name, write := range fencedWrites {
		fencingTests["StaleRangeID-"+name] = func(f *fixture) { testStaleRange(f, write) }
		fencingTests["FutureRangeID-"+name] = func(f *fixture) { testFutureRange(f, write) }
	}
	fencingTests["NeverAcquiredShard"] = testNeverAcquired
	fencingTests["NewOwnerCanWrite"] = testNewOwnerWrites
}

func fencingSetup(f *fixture) int64 {
	r := f.acquire(1)
	f.create(createReq(1, r, "wf", "run-1", 100))
	return r
}

var fencedKeys = []persistence.WorkflowKey{key("wf", "run-1"), key("wf", "run-9"), key("wf-new", "run-9")}

// testStaleRange: after another AcquireShard the old owner's write fails
// with *ShardOwnershipLostError and writes nothing.
func testStaleRange(f *fixture, write fencedWrite) {
	old := fencingSetup(f)
	f.acquire(1)
	before := f.snapshot(1, fencedKeys...)
	f.wantShardLost(write(f, old), 1, old, "write with the previous owner's range ID")
	f.wantUnchanged(before, 1, fencedKeys...)
}

// testFutureRange: a range ID the store never handed out is not the
// owner's either.
func testFutureRange(f *fixture, write fencedWrite) {
	r := fencingSetup(f)
	before := f.snapshot(1, fencedKeys...)
	f.wantShardLost(write(f, r+1), 1, r+1, "write with a range ID from the future")
	f.wantUnchanged(before, 1, fencedKeys...)
}

func testNeverAcquired(f *fixture) {
	before := f.snapshot(3, key("wf", "run-1"))
	err := f.s.CreateWorkflow(f.ctx, createReq(3, 1, "wf", "run-1", 100))
	f.wantShardLost(err, 3, 1, "create on a shard never acquired")
	f.wantUnchanged(before, 3, key("wf", "run-1"))
}

// testNewOwnerWrites: the fence moves with the shard; the new owner
// continues where the old one stopped.
func testNewOwnerWrites(f *fixture) {
	fencingSetup(f)
	r2 := f.acquire(1)
	f.must(f.s.UpdateWorkflow(f.ctx, updateReq(1, r2, key("wf", "run-1"), 1, 4, 101)), "update by the new owner")
	f.create(createReq(1, r2, "wf-2", "run-2", 200))
	// Another shard's acquisition does not fence shard 1.
	f.acquire(2)
	f.must(f.s.UpdateWorkflow(f.ctx, updateReq(1, r2, key("wf", "run-1"), 2, 6, 102)), "update after shard 2 moved")
}

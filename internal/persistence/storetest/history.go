package storetest

import (
	"fmt"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// historyRun creates run-1 of "wf" with events 1..9 (create 1..3, then
// three updates of two events) and returns its key.
func historyRun(f *fixture) persistence.WorkflowKey {
	r := f.acquire(1)
	k := key("wf", "run-1")
	f.create(createReq(1, r, "wf", "run-1", 100))
	for i := int64(0); i < 3; i++ {
		f.must(f.s.UpdateWorkflow(f.ctx, updateReq(1, r, k, 1+i, 4+2*i, 101+i)), "UpdateWorkflow")
	}
	// A neighbour run whose events must never leak into run-1's.
	f.create(createReq(1, r, "wf-0", "run-0", 200))
	return k
}

func (f *fixture) read(k persistence.WorkflowKey, minID, maxID int64, limit int, reverse bool) []persistence.HistoryEvent {
	f.Helper()
	evs, err := f.s.ReadHistory(f.ctx, 1, k, minID, maxID, limit, reverse)
	f.must(err, fmt.Sprintf("ReadHistory(%d, %d, %d, %v)", minID, maxID, limit, reverse))
	return evs
}

var historyTests = map[string]func(*fixture){
	"Ranges": func(f *fixture) {
		k := historyRun(f)
		f.wantEvents(f.read(k, 1, 100, 100, false), 1, 2, 3, 4, 5, 6, 7, 8, 9)
		f.wantEvents(f.read(k, 3, 6, 100, false), 3, 4, 5)
		f.wantEvents(f.read(k, 9, 10, 100, false), 9)
		f.wantEvents(f.read(k, 5, 5, 100, false))
		f.wantEvents(f.read(k, 10, 20, 100, false))
		f.wantEvents(f.read(key("wf", "run-x"), 1, 100, 100, false))
		evs := f.read(k, 7, 8, 1, false)
		wantBytes(f.T, evs[0].Data, []byte("run-1/event-7"), "event 7 data")
	},
	"LimitPaging": func(f *fixture) {
		k := historyRun(f)
		var got []int64
		next := int64(1)
		for pages := 0; ; pages++ {
			if pages > 10 {
				f.Fatalf("paging does not terminate; got %v", got)
			}
			page := f.read(k, next, 100, 4, false)
			if len(page) > 4 {
				f.Fatalf("page of %d events exceeds limit 4", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				got = append(got, e.EventID)
			}
			next = page[len(page)-1].EventID + 1
		}
		if fmt.Sprint(got) != "[1 2 3 4 5 6 7 8 9]" {
			f.Errorf("paged events %v, want 1..9", got)
		}
	},
	"Reverse": func(f *fixture) {
		k := historyRun(f)
		f.wantEvents(f.read(k, 1, 100, 100, true), 9, 8, 7, 6, 5, 4, 3, 2, 1)
		f.wantEvents(f.read(k, 2, 6, 100, true), 5, 4, 3, 2)
		// Reverse paging takes the newest events first.
		f.wantEvents(f.read(k, 1, 100, 3, true), 9, 8, 7)
		f.wantEvents(f.read(k, 1, 7, 3, true), 6, 5, 4)
	},
	"NonPositiveLimitIsAnError": func(f *fixture) {
		k := historyRun(f)
		if _, err := f.s.ReadHistory(f.ctx, 1, k, 1, 100, 0, false); err == nil {
			f.Errorf("ReadHistory with limit 0 succeeded; want an error (pages are bounded)")
		}
	},
}

// outboxShard writes transfer tasks 5,1,3 (create) and 2,4 (update) to
// shard 1, one to shard 2, and timers at t0+{2,0,0,1}s.
func outboxShard(f *fixture) (shard1Range int64) {
	r1, r2 := f.acquire(1), f.acquire(2)
	req := createReq(1, r1, "wf", "run-1", 0)
	req.Tasks = []persistence.OutboxTask{transfer(5), transfer(1), transfer(3),
		timer(t0.Add(2*time.Second), 1), timer(t0, 5), timer(t0, 3)}
	f.create(req)
	up := updateReq(1, r1, key("wf", "run-1"), 1, 4, 2)
	up.Tasks = append(up.Tasks, transfer(4), timer(t0.Add(time.Second), 2))
	f.must(f.s.UpdateWorkflow(f.ctx, up), "UpdateWorkflow")
	f.create(createReq(2, r2, "wf-2", "run-2", 6))
	return r1
}

func (f *fixture) outboxIDs(cat persistence.TaskCategory, afterTime time.Time, afterID int64, before time.Time, limit int) string {
	f.Helper()
	ts, err := f.s.GetOutboxTasks(f.ctx, 1, cat, afterTime, afterID, before, limit)
	f.must(err, "GetOutboxTasks")
	var out []string
	for _, t := range ts {
		if t.Category != cat {
			f.Errorf("task %d has category %d, want %d", t.TaskID, t.Category, cat)
		}
		if cat == persistence.CategoryTimer {
			out = append(out, fmt.Sprintf("%s#%d", t.VisibilityTime.Sub(t0), t.TaskID))
		} else {
			out = append(out, fmt.Sprint(t.TaskID))
		}
	}
	return fmt.Sprint(out)
}

var outboxTests = map[string]func(*fixture){
	"TransferOrderAfterLimit": func(f *fixture) {
		outboxShard(f)
		tr := persistence.CategoryTransfer
		f.wantOutbox(f.outboxIDs(tr, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4 5]")
		f.wantOutbox(f.outboxIDs(tr, time.Time{}, 2, time.Time{}, 100), "[3 4 5]")
		f.wantOutbox(f.outboxIDs(tr, time.Time{}, 0, time.Time{}, 2), "[1 2]")
		f.wantOutbox(f.outboxIDs(tr, time.Time{}, 5, time.Time{}, 100), "[]")
		// afterTime and beforeTime do not apply to transfer tasks.
		f.wantOutbox(f.outboxIDs(tr, t0.Add(time.Hour), 3, t0.Add(-time.Hour), 100), "[4 5]")
		ts, err := f.s.GetOutboxTasks(f.ctx, 1, tr, time.Time{}, 3, time.Time{}, 1)
		f.must(err, "GetOutboxTasks")
		wantBytes(f.T, ts[0].Data, []byte("transfer-4"), "task 4 data")
	},
	"TimerOrderAfterBefore": func(f *fixture) {
		outboxShard(f)
		tm := persistence.CategoryTimer
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, time.Time{}, 100), "[0s#3 0s#5 1s#2 2s#1]")
		f.wantOutbox(f.outboxIDs(tm, t0, 3, time.Time{}, 100), "[0s#5 1s#2 2s#1]")
		f.wantOutbox(f.outboxIDs(tm, t0, 5, time.Time{}, 100), "[1s#2 2s#1]")
		f.wantOutbox(f.outboxIDs(tm, t0.Add(time.Second), 0, time.Time{}, 100), "[1s#2 2s#1]")
		f.wantOutbox(f.outboxIDs(tm, t0.Add(time.Second), 2, time.Time{}, 100), "[2s#1]")
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, time.Time{}, 3), "[0s#3 0s#5 1s#2]")
		// beforeTime is exclusive.
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, t0.Add(time.Second), 100), "[0s#3 0s#5]")
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, t0.Add(time.Second+1), 100), "[0s#3 0s#5 1s#2]")
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, t0, 100), "[]")
		ts, err := f.s.GetOutboxTasks(f.ctx, 1, tm, time.Time{}, 0, time.Time{}, 1)
		f.must(err, "GetOutboxTasks")
		if !ts[0].VisibilityTime.Equal(t0) {
			f.Errorf("VisibilityTime %v, want %v exactly", ts[0].VisibilityTime, t0)
		}
		wantBytes(f.T, ts[0].Data, []byte("timer-3"), "timer 3 data")
	},
	"ShardsAreSeparate": func(f *fixture) {
		outboxShard(f)
		if got := f.outbox(2, persistence.CategoryTransfer); len(got) != 1 || got[0].TaskID != 6 {
			f.Errorf("shard 2 transfer tasks %+v, want only task 6", got)
		}
	},
	"CompleteIdempotent": func(f *fixture) {
		r := outboxShard(f)
		tr, tm := persistence.CategoryTransfer, persistence.CategoryTimer
		for range 2 {
			f.must(f.complete(1, r, tr, time.Time{}, 3), "complete transfer 3")
			f.must(f.complete(1, r, tm, t0, 5), "complete timer 5")
		}
		f.must(f.complete(1, r, tr, time.Time{}, 999), "complete a missing transfer task")
		// A timer is addressed by (time, ID): the wrong time deletes nothing.
		f.must(f.complete(1, r, tm, t0.Add(time.Hour), 3), "complete timer 3 at the wrong time")
		f.wantOutbox(f.outboxIDs(tr, time.Time{}, 0, time.Time{}, 100), "[1 2 4 5]")
		f.wantOutbox(f.outboxIDs(tm, time.Time{}, 0, time.Time{}, 100), "[0s#3 1s#2 2s#1]")
		if got := f.outbox(2, tr); len(got) != 1 {
			f.Errorf("completing shard 1 tasks touched shard 2: %+v", got)
		}
	},
	"CompleteMany": func(f *fixture) {
		// One call deletes exactly the named tasks, however many: missing
		// IDs and a timer named with the wrong time delete nothing.
		const n = 600 // more than one IN list
		r := f.acquire(1)
		for i := range n {
			f.create(createReq(1, r, fmt.Sprintf("wf-%d", i), "run", int64(100+i)))
		}
		var tr, tm []persistence.OutboxKey
		for i := range n {
			id := int64(100 + i)
			if i%3 != 0 {
				tr = append(tr, persistence.OutboxKey{TaskID: id})
			}
			at := t0.Add(time.Duration(id) * time.Second)
			if i%2 == 1 {
				at = at.Add(time.Nanosecond)
			}
			tm = append(tm, persistence.OutboxKey{VisibilityTime: at, TaskID: id})
		}
		tr = append(tr, persistence.OutboxKey{TaskID: 99_999})
		f.must(f.s.CompleteOutboxTasks(f.ctx, 1, r, persistence.CategoryTransfer, tr), "complete transfer tasks")
		f.must(f.s.CompleteOutboxTasks(f.ctx, 1, r, persistence.CategoryTimer, tm), "complete timer tasks")
		f.wantLeft(persistence.CategoryTransfer, n/3, func(id int64) bool { return (id-100)%3 == 0 })
		f.wantLeft(persistence.CategoryTimer, n/2, func(id int64) bool { return (id-100)%2 == 1 })
		f.must(f.s.CompleteOutboxTasks(f.ctx, 1, r, persistence.CategoryTransfer, nil), "complete no tasks")
	},
	"CompleteIsFenced": func(f *fixture) {
		// After the shard moved, the previous owner's deletes (even one
		// that reaches the database late) remove nothing, with no error;
		// the new owner's do.
		old := outboxShard(f)
		r := f.acquire(1)
		f.must(f.complete(1, old, persistence.CategoryTransfer, time.Time{}, 1), "complete after move")
		f.must(f.complete(1, old, persistence.CategoryTimer, t0, 3), "complete after move")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4 5]")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTimer, time.Time{}, 0, time.Time{}, 100), "[0s#3 0s#5 1s#2 2s#1]")
		f.must(f.complete(1, r, persistence.CategoryTransfer, time.Time{}, 1), "complete by the owner")
		f.must(f.complete(1, r, persistence.CategoryTimer, t0, 3), "complete by the owner")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[2 3 4 5]")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTimer, time.Time{}, 0, time.Time{}, 100), "[0s#5 1s#2 2s#1]")
	},
}

// wantLeft checks that shard 1 has exactly want tasks of category left,
// each one that kept says should be.
func (f *fixture) wantLeft(category persistence.TaskCategory, want int, kept func(taskID int64) bool) {
	f.Helper()
	left := f.outbox(1, category)
	if len(left) != want {
		f.Fatalf("%d tasks of category %d left, want %d", len(left), category, want)
	}
	for _, tk := range left {
		if !kept(tk.TaskID) {
			f.Errorf("task %d of category %d left, but it was completed", tk.TaskID, category)
		}
	}
}

// complete deletes one outbox task.
func (f *fixture) complete(shardID int32, rangeID int64, category persistence.TaskCategory, at time.Time, taskID int64) error {
	return f.s.CompleteOutboxTasks(f.ctx, shardID, rangeID, category, []persistence.OutboxKey{{VisibilityTime: at, TaskID: taskID}})
}

func (f *fixture) wantOutbox(got, want string) {
	f.Helper()
	if got != want {
		f.Errorf("outbox tasks %s, want %s", got, want)
	}
}

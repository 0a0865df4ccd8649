package storetest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

var tq = persistence.TaskQueueKey{NamespaceID: testNamespace, Name: "orders", Kind: 1, Partition: 0}

// tqNeighbours differ from tq in exactly one field each.
var tqNeighbours = []persistence.TaskQueueKey{
	{NamespaceID: "ns-id-2", Name: "orders", Kind: 1, Partition: 0},
	{NamespaceID: testNamespace, Name: "orders-2", Kind: 1, Partition: 0},
	{NamespaceID: testNamespace, Name: "orders", Kind: 2, Partition: 0},
	{NamespaceID: testNamespace, Name: "orders", Kind: 1, Partition: 1},
}

func (f *fixture) lease(k persistence.TaskQueueKey) (rangeID, ackLevel int64) {
	f.Helper()
	r, a, err := f.s.LeaseTaskQueue(f.ctx, k)
	f.must(err, "LeaseTaskQueue")
	return r, a
}

func queueTasks(ids ...int64) []persistence.QueueTask {
	var out []persistence.QueueTask
	for _, id := range ids {
		out = append(out, persistence.QueueTask{TaskID: id, Data: fmt.Appendf(nil, "task-%d", id)})
	}
	return out
}

func (f *fixture) taskIDs(k persistence.TaskQueueKey, after int64, limit int) string {
	f.Helper()
	ts, err := f.s.GetTasks(f.ctx, k, after, limit)
	f.must(err, "GetTasks")
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.TaskID
	}
	return fmt.Sprint(ids)
}

func (f *fixture) count(k persistence.TaskQueueKey) int64 {
	f.Helper()
	n, err := f.s.CountTasks(f.ctx, k)
	f.must(err, "CountTasks")
	return n
}

func (f *fixture) wantLeaseLost(err error, k persistence.TaskQueueKey, rangeID int64, what string) {
	f.Helper()
	var lost *persistence.TaskQueueLeaseLostError
	if !errors.As(err, &lost) {
		f.Fatalf("%s: got error %v, want *TaskQueueLeaseLostError", what, err)
	}
	if lost.Key != k || lost.RangeID != rangeID {
		f.Errorf("%s: TaskQueueLeaseLostError{%+v, %d}, want {%+v, %d}", what, lost.Key, lost.RangeID, k, rangeID)
	}
}

func (f *fixture) wantString(got, want, what string) {
	f.Helper()
	if got != want {
		f.Errorf("%s = %s, want %s", what, got, want)
	}
}

var taskQueueTests = map[string]func(*fixture){
	"LeaseIncrementsAndKeepsAckLevel": func(f *fixture) {
		r1, ack := f.lease(tq)
		if r1 <= 0 || ack != 0 {
			f.Fatalf("first lease: range %d ack %d, want positive and 0", r1, ack)
		}
		r2, _ := f.lease(tq)
		if r2 <= r1 {
			f.Fatalf("second lease %d, want > %d", r2, r1)
		}
		f.must(f.s.UpdateAckLevel(f.ctx, tq, r2, 42), "UpdateAckLevel")
		r3, ack := f.lease(tq)
		if r3 <= r2 || ack != 42 {
			f.Errorf("third lease: range %d ack %d, want > %d and 42", r3, ack, r2)
		}
		for _, n := range tqNeighbours {
			if _, ack := f.lease(n); ack != 0 {
				f.Errorf("partition %+v inherited ack level %d", n, ack)
			}
		}
	},
	"FencedWrites": func(f *fixture) {
		old, _ := f.lease(tq)
		f.must(f.s.CreateTasks(f.ctx, tq, old, queueTasks(1)), "CreateTasks")
		f.must(f.s.UpdateAckLevel(f.ctx, tq, old, 7), "UpdateAckLevel")
		cur, _ := f.lease(tq)

		f.wantLeaseLost(f.s.CreateTasks(f.ctx, tq, old, queueTasks(2, 3)), tq, old, "CreateTasks with a stale range ID")
		f.wantLeaseLost(f.s.UpdateAckLevel(f.ctx, tq, old, 99), tq, old, "UpdateAckLevel with a stale range ID")
		f.wantLeaseLost(f.s.CreateTasks(f.ctx, tq, cur+1, queueTasks(4)), tq, cur+1, "CreateTasks with a future range ID")
		f.wantString(f.taskIDs(tq, 0, 100), "[1]", "tasks after fenced writes")
		if _, ack := f.lease(tq); ack != 7 {
			f.Errorf("ack level %d after a fenced update, want 7", ack)
		}
		never := tqNeighbours[3]
		f.wantLeaseLost(f.s.CreateTasks(f.ctx, never, 1, queueTasks(1)), never, 1, "CreateTasks on a partition never leased")
		f.wantLeaseLost(f.s.UpdateAckLevel(f.ctx, never, 1, 1), never, 1, "UpdateAckLevel on a partition never leased")
		if n := f.count(never); n != 0 {
			f.Errorf("partition never leased has %d tasks", n)
		}
	},
	"GetTasksAfterLimit": func(f *fixture) {
		r, _ := f.lease(tq)
		exp := t0.Add(time.Minute)
		f.must(f.s.CreateTasks(f.ctx, tq, r, queueTasks(30, 10)), "CreateTasks")
		f.must(f.s.CreateTasks(f.ctx, tq, r, []persistence.QueueTask{{TaskID: 20, ExpiresAt: exp, Data: []byte("x")}}), "CreateTasks")
		f.must(f.s.CreateTasks(f.ctx, tq, r, nil), "CreateTasks of nothing")
		for _, n := range tqNeighbours {
			nr, _ := f.lease(n)
			f.must(f.s.CreateTasks(f.ctx, n, nr, queueTasks(15, 25)), "CreateTasks neighbour")
		}
		f.wantString(f.taskIDs(tq, 0, 100), "[10 20 30]", "all tasks")
		f.wantString(f.taskIDs(tq, 10, 100), "[20 30]", "after 10")
		f.wantString(f.taskIDs(tq, 0, 2), "[10 20]", "limit 2")
		f.wantString(f.taskIDs(tq, 30, 100), "[]", "after the last")

		ts, err := f.s.GetTasks(f.ctx, tq, 0, 2)
		f.must(err, "GetTasks")
		if !ts[0].ExpiresAt.IsZero() {
			f.Errorf("task 10 ExpiresAt %v, want zero (never expires)", ts[0].ExpiresAt)
		}
		if !ts[1].ExpiresAt.Equal(exp) {
			f.Errorf("task 20 ExpiresAt %v, want %v", ts[1].ExpiresAt, exp)
		}
		wantBytes(f.T, ts[0].Data, []byte("task-10"), "task 10 data")
	},
	"CompleteAndCount": func(f *fixture) {
		r, _ := f.lease(tq)
		f.must(f.s.CreateTasks(f.ctx, tq, r, queueTasks(1, 2, 3, 4, 5, 6)), "CreateTasks")
		other := tqNeighbours[2]
		or, _ := f.lease(other)
		f.must(f.s.CreateTasks(f.ctx, other, or, queueTasks(1, 2)), "CreateTasks other")
		if n := f.count(tq); n != 6 {
			f.Fatalf("CountTasks = %d, want 6", n)
		}

		f.must(f.s.CompleteTask(f.ctx, tq, 5), "CompleteTask 5")
		f.must(f.s.CompleteTask(f.ctx, tq, 5), "CompleteTask 5 again")
		f.must(f.s.CompleteTask(f.ctx, tq, 99), "CompleteTask of a missing task")
		n, err := f.s.CompleteTasksUpTo(f.ctx, tq, 3)
		f.must(err, "CompleteTasksUpTo 3")
		if n != 3 {
			f.Errorf("CompleteTasksUpTo(3) deleted %d, want 3", n)
		}
		n, err = f.s.CompleteTasksUpTo(f.ctx, tq, 3)
		f.must(err, "CompleteTasksUpTo 3 again")
		if n != 0 {
			f.Errorf("repeated CompleteTasksUpTo(3) deleted %d, want 0", n)
		}
		f.wantString(f.taskIDs(tq, 0, 100), "[4 6]", "remaining tasks")
		if n := f.count(tq); n != 2 {
			f.Errorf("CountTasks = %d, want 2", n)
		}
		if n := f.count(other); n != 2 {
			f.Errorf("other partition CountTasks = %d, want 2 (untouched)", n)
		}
	},
	"ConcurrentLeasesAreDistinct": func(f *fixture) {
		const n = 8
		got := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i], _, errs[i] = f.s.LeaseTaskQueue(f.ctx, tq) })
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			f.must(errs[i], "LeaseTaskQueue")
			if seen[got[i]] {
				f.Errorf("range ID %d leased twice", got[i])
			}
			seen[got[i]] = true
		}
	},
}

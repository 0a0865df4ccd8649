package storetest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

func dlqTask(shardID int32, cat persistence.TaskCategory, id int64, at time.Time, data string) persistence.DLQTask {
	return persistence.DLQTask{DLQKey: persistence.DLQKey{ShardID: shardID, Category: cat, TaskID: id},
		VisibilityTime: at, Data: []byte(data), Attempts: 100, LastError: "boom " + data, MovedAt: t0.Add(time.Hour)}
}

// dlqKeys renders the whole DLQ, read in pages of size page.
func (f *fixture) dlqKeys(page int) string {
	f.Helper()
	var out []string
	var after persistence.DLQKey
	for {
		ts, err := f.s.ListDLQ(f.ctx, after, page)
		f.must(err, "ListDLQ")
		for _, t := range ts {
			out = append(out, fmt.Sprintf("%d/%d/%d", t.ShardID, t.Category, t.TaskID))
			after = t.DLQKey
		}
		if len(ts) < page {
			return "[" + strings.Join(out, " ") + "]"
		}
	}
}

func (f *fixture) wantDLQCount(want int64) {
	f.Helper()
	n, err := f.s.CountDLQ(f.ctx)
	f.must(err, "CountDLQ")
	if n != want {
		f.Errorf("CountDLQ = %d, want %d", n, want)
	}
}

var dlqTests = map[string]func(*fixture){
	"MoveDeletesOutboxRowAndKeepsEverything": func(f *fixture) {
		r := outboxShard(f)
		tr := dlqTask(1, persistence.CategoryTransfer, 3, time.Time{}, "transfer-3")
		tm := dlqTask(1, persistence.CategoryTimer, 2, t0.Add(time.Second), "timer-2")
		tm.LastError = strings.Repeat("e", persistence.MaxDLQErrorLength+50)
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, tr), "move transfer task")
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, tm), "move timer task")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 4 5]")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTimer, time.Time{}, 0, time.Time{}, 100), "[0s#3 0s#5 2s#1]")
		got, err := f.s.ListDLQ(f.ctx, persistence.DLQKey{}, 10)
		f.must(err, "ListDLQ")
		if len(got) != 2 {
			f.Fatalf("ListDLQ returned %d tasks, want 2", len(got))
		}
		g := got[0]
		if g.DLQKey != tr.DLQKey || !g.VisibilityTime.IsZero() || string(g.Data) != "transfer-3" || g.Attempts != 100 ||
			g.LastError != "boom transfer-3" || !g.MovedAt.Equal(tr.MovedAt) {
			f.Errorf("transfer DLQ task = %+v, want %+v", g, tr)
		}
		g = got[1]
		if g.DLQKey != tm.DLQKey || !g.VisibilityTime.Equal(tm.VisibilityTime) || string(g.Data) != "timer-2" ||
			len(g.LastError) != persistence.MaxDLQErrorLength {
			f.Errorf("timer DLQ task = %+v (error of %d bytes), want %+v", g.DLQKey, len(g.LastError), tm.DLQKey)
		}
		f.wantDLQCount(2)
	},
	"MoveIsIdempotent": func(f *fixture) {
		// A move retried after an unknown outcome, or of a task whose
		// outbox row is already gone, leaves one DLQ row.
		r := outboxShard(f)
		tr := dlqTask(1, persistence.CategoryTransfer, 3, time.Time{}, "transfer-3")
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, tr), "move")
		tr.Attempts = 101
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, tr), "move again")
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, dlqTask(1, persistence.CategoryTransfer, 77, time.Time{}, "gone")), "move a missing task")
		f.wantOutbox(f.dlqKeys(10), "[1/1/3 1/1/77]")
		got, err := f.s.ListDLQ(f.ctx, persistence.DLQKey{}, 1)
		f.must(err, "ListDLQ")
		if len(got) != 1 || got[0].Attempts != 101 {
			f.Errorf("after a second move: %+v, want attempts 101", got)
		}
	},
	"MoveIsFenced": func(f *fixture) {
		// A stale owner cannot take a task from the shard's new owner.
		old := outboxShard(f)
		f.acquire(1)
		err := f.s.MoveOutboxTaskToDLQ(f.ctx, old, dlqTask(1, persistence.CategoryTransfer, 3, time.Time{}, "transfer-3"))
		var lost *persistence.ShardOwnershipLostError
		if !errors.As(err, &lost) {
			f.Fatalf("move with a stale range: %v, want ShardOwnershipLostError", err)
		}
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4 5]")
		f.wantDLQCount(0)
	},
	"ListPagesInKeyOrder": func(f *fixture) {
		ranges := map[int32]int64{1: f.acquire(1), 2: f.acquire(2), 10: f.acquire(10)}
		for _, k := range []persistence.DLQKey{{ShardID: 2, Category: 1, TaskID: 1}, {ShardID: 1, Category: 2, TaskID: 1},
			{ShardID: 1, Category: 1, TaskID: 9}, {ShardID: 1, Category: 1, TaskID: 2}, {ShardID: 10, Category: 2, TaskID: 0}} {
			f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, ranges[k.ShardID], dlqTask(k.ShardID, k.Category, k.TaskID, t0, "x")), "move")
		}
		want := "[1/1/2 1/1/9 1/2/1 2/1/1 10/2/0]"
		for _, page := range []int{1, 2, 10} {
			f.wantOutbox(f.dlqKeys(page), want)
		}
		f.wantDLQCount(5)
		_, err := f.s.ListDLQ(f.ctx, persistence.DLQKey{}, 0)
		if err == nil {
			f.Errorf("ListDLQ with limit 0: no error")
		}
	},
	"RestorePutsTaskBack": func(f *fixture) {
		r := outboxShard(f)
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, dlqTask(1, persistence.CategoryTimer, 2, t0.Add(time.Second), "timer-2")), "move timer")
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, dlqTask(1, persistence.CategoryTransfer, 4, time.Time{}, "transfer-4")), "move transfer")
		got, err := f.s.RestoreDLQTask(f.ctx, persistence.DLQKey{ShardID: 1, Category: persistence.CategoryTimer, TaskID: 2})
		f.must(err, "restore timer")
		if got.Category != persistence.CategoryTimer || got.TaskID != 2 || !got.VisibilityTime.Equal(t0.Add(time.Second)) || string(got.Data) != "timer-2" {
			f.Errorf("restored %+v", got)
		}
		f.wantOutbox(f.outboxIDs(persistence.CategoryTimer, time.Time{}, 0, time.Time{}, 100), "[0s#3 0s#5 1s#2 2s#1]")
		_, err = f.s.RestoreDLQTask(f.ctx, persistence.DLQKey{ShardID: 1, Category: persistence.CategoryTransfer, TaskID: 4})
		f.must(err, "restore transfer")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4 5]")
		f.wantDLQCount(0)
		_, err = f.s.RestoreDLQTask(f.ctx, persistence.DLQKey{ShardID: 1, Category: persistence.CategoryTransfer, TaskID: 4})
		f.wantIs(err, persistence.ErrNotFound, "restore twice")
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4 5]")
	},
	"DeleteDropsForGood": func(f *fixture) {
		r := outboxShard(f)
		k := persistence.DLQKey{ShardID: 1, Category: persistence.CategoryTransfer, TaskID: 5}
		f.must(f.s.MoveOutboxTaskToDLQ(f.ctx, r, dlqTask(1, k.Category, k.TaskID, time.Time{}, "transfer-5")), "move")
		f.must(f.s.DeleteDLQTask(f.ctx, k), "delete")
		f.wantIs(f.s.DeleteDLQTask(f.ctx, k), persistence.ErrNotFound, "delete twice")
		f.wantDLQCount(0)
		f.wantOutbox(f.outboxIDs(persistence.CategoryTransfer, time.Time{}, 0, time.Time{}, 100), "[1 2 3 4]")
	},
}

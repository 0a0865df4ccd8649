package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// BenchmarkTransitions measures the store's write path, one op at a time:
//
//   - Start: a workflow start (current row, run row, 2 events, a transfer
//     task), fenced.
//   - WorkflowTaskCompleted: one transition of a running workflow (the
//     version-conditioned run row update, 3 events, a transfer and a
//     timer task), fenced.
//   - CompleteTasks: the queues' batched deletes of 16 transfer and 16
//     timer tasks (the tasks are written by a transition in the same op).
//
// roundTrips, if not nil, returns the client-server round trips made so
// far (sqltest.RoundTrips); the benchmark then reports roundtrips/op.
// benchSeq makes workflow IDs unique across benchmark runs on one store.
var benchSeq atomic.Int64

func BenchmarkTransitions(b *testing.B, s persistence.Store, roundTrips func() int64) {
	ctx := context.Background()
	rangeID, err := s.AcquireShard(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	state := make([]byte, 1500) // about a small workflow's encoded state
	for i := range state {
		state[i] = byte('a' + i%26)
	}
	event := make([]byte, 200)
	report := func(b *testing.B, since int64) {
		if roundTrips != nil {
			b.ReportMetric(float64(roundTrips()-since)/float64(b.N), "roundtrips/op")
		}
	}
	count := func() int64 {
		if roundTrips == nil {
			return 0
		}
		return roundTrips()
	}
	var taskID int64 = rangeID << 20
	nextTask := func() int64 { taskID++; return taskID }

	b.Run("Start", func(b *testing.B) {
		seq := benchSeq.Add(1)
		b.ReportAllocs()
		i := 0
		since := count()
		for b.Loop() {
			i++
			err := s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
				ShardID: 1, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
				Current: persistence.CurrentRun{NamespaceID: testNamespace, WorkflowID: fmt.Sprintf("bench-start-%d-%d", seq, i),
					RunID: fmt.Sprintf("run-%d-%d", seq, i), CreateRequestID: "req", State: persistence.RunStateRunning, Status: 1},
				State: state, NextEventID: 3,
				Events: []persistence.HistoryEvent{{EventID: 1, Data: event}, {EventID: 2, Data: event}},
				Tasks:  []persistence.OutboxTask{{Category: persistence.CategoryTransfer, TaskID: nextTask(), Data: event[:40]}},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		report(b, since)
	})

	// newRun creates the run the other benchmarks update.
	newRun := func(b *testing.B, name string) persistence.WorkflowKey {
		seq := benchSeq.Add(1)
		key := persistence.WorkflowKey{NamespaceID: testNamespace, WorkflowID: fmt.Sprintf("bench-%s-%d", name, seq), RunID: fmt.Sprintf("run-%d", seq)}
		err := s.CreateWorkflow(ctx, &persistence.CreateWorkflowRequest{
			ShardID: 1, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
			Current: persistence.CurrentRun{NamespaceID: key.NamespaceID, WorkflowID: key.WorkflowID, RunID: key.RunID,
				CreateRequestID: "req", State: persistence.RunStateRunning, Status: 1},
			State: state, NextEventID: 1,
		})
		if err != nil {
			b.Fatal(err)
		}
		return key
	}

	b.Run("WorkflowTaskCompleted", func(b *testing.B) {
		key := newRun(b, "wft")
		version, next := int64(1), int64(1)
		b.ReportAllocs()
		since := count()
		for b.Loop() {
			err := s.UpdateWorkflow(ctx, &persistence.UpdateWorkflowRequest{
				ShardID: 1, RangeID: rangeID, Key: key, ExpectedVersion: version, State: state, NextEventID: next + 3,
				Events: []persistence.HistoryEvent{{EventID: next, Data: event}, {EventID: next + 1, Data: event}, {EventID: next + 2, Data: event}},
				Tasks: []persistence.OutboxTask{
					{Category: persistence.CategoryTransfer, TaskID: nextTask(), Data: event[:40]},
					{Category: persistence.CategoryTimer, TaskID: nextTask(), VisibilityTime: time.Unix(0, next*1000), Data: event[:40]},
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			version++
			next += 3
		}
		report(b, since)
	})

	b.Run("CompleteTasks", func(b *testing.B) {
		key := newRun(b, "tasks")
		version := int64(1)
		b.ReportAllocs()
		since := count()
		for b.Loop() {
			var tasks []persistence.OutboxTask
			var transfer, timers []persistence.OutboxKey
			for j := range 16 {
				id := nextTask()
				tasks = append(tasks, persistence.OutboxTask{Category: persistence.CategoryTransfer, TaskID: id})
				transfer = append(transfer, persistence.OutboxKey{TaskID: id})
				id = nextTask()
				at := time.Unix(1_000_000, int64(j)*1000)
				tasks = append(tasks, persistence.OutboxTask{Category: persistence.CategoryTimer, TaskID: id, VisibilityTime: at})
				timers = append(timers, persistence.OutboxKey{TaskID: id, VisibilityTime: at})
			}
			err := s.UpdateWorkflow(ctx, &persistence.UpdateWorkflowRequest{
				ShardID: 1, RangeID: rangeID, Key: key, ExpectedVersion: version, State: state, NextEventID: 1, Tasks: tasks})
			if err != nil {
				b.Fatal(err)
			}
			version++
			if err := s.CompleteOutboxTasks(ctx, 1, rangeID, persistence.CategoryTransfer, transfer); err != nil {
				b.Fatal(err)
			}
			if err := s.CompleteOutboxTasks(ctx, 1, rangeID, persistence.CategoryTimer, timers); err != nil {
				b.Fatal(err)
			}
		}
		report(b, since)
	})
}

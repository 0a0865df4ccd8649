// Package storetest is the conformance suite every persistence.Store
// backend must pass. It tests behaviour through the public interface only,
// so the same subtests pin SQLite, PostgreSQL and MySQL alike.
//
// A backend's test calls RunAll with a constructor for empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunAll(t, func(t *testing.T) persistence.Store { return openEmpty(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// RunAll runs every conformance subtest. newStore must return an empty,
// ready store for each call; RunAll closes it when the subtest ends.
func RunAll(t *testing.T, newStore func(t *testing.T) persistence.Store) {
	groups := []struct {
		name  string
		tests map[string]func(*fixture)
	}{
		{"Cluster", clusterTests},
		{"Namespace", namespaceTests},
		{"Shard", shardTests},
		{"Create", createTests},
		{"Update", updateTests},
		{"NewRun", newRunTests},
		{"Fencing", fencingTests},
		{"Renew", renewTests},
		{"History", historyTests},
		{"Outbox", outboxTests},
		{"DLQ", dlqTests},
		{"TaskQueue", taskQueueTests},
		{"Concurrency", concurrencyTests},
		{"Visibility", visibilityTests},
		{"Audit", auditTests},
		{"Batch", batchTests},
		{"Schedule", scheduleTests},
		{"Membership", membershipTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, name := range slices.Sorted(maps.Keys(g.tests)) {
				test := g.tests[name]
				t.Run(name, func(t *testing.T) { test(newFixture(t, newStore)) })
			}
		})
	}
}

// fixture is one subtest's store plus helpers that fail the test on
// unexpected errors.
type fixture struct {
	*testing.T
	s   persistence.Store
	ctx context.Context
}

func newFixture(t *testing.T, newStore func(t *testing.T) persistence.Store) *fixture {
	s := newStore(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &fixture{T: t, s: s, ctx: t.Context()}
}

const testNamespace = "ns-id-1"

// t0 is an arbitrary instant with sub-microsecond digits, to catch
// backends that round times.
var t0 = time.Date(2030, 5, 17, 12, 30, 45, 123456789, time.UTC)

func (f *fixture) must(err error, what string) {
	f.Helper()
	if err != nil {
		f.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func (f *fixture) acquire(shardID int32) int64 {
	f.Helper()
	r, err := f.s.AcquireShard(f.ctx, shardID)
	f.must(err, "AcquireShard")
	return r
}

func key(workflowID, runID string) persistence.WorkflowKey {
	return persistence.WorkflowKey{NamespaceID: testNamespace, WorkflowID: workflowID, RunID: runID}
}

// events returns events from..to inclusive with recognizable data.
func events(runID string, from, to int64) []persistence.HistoryEvent {
	var out []persistence.HistoryEvent
	for id := from; id <= to; id++ {
		out = append(out, persistence.HistoryEvent{EventID: id, Data: fmt.Appendf(nil, "%s/event-%d", runID, id)})
	}
	return out
}

func transfer(id int64) persistence.OutboxTask {
	return persistence.OutboxTask{Category: persistence.CategoryTransfer, TaskID: id, Data: fmt.Appendf(nil, "transfer-%d", id)}
}

func timer(at time.Time, id int64) persistence.OutboxTask {
	return persistence.OutboxTask{Category: persistence.CategoryTimer, TaskID: id, VisibilityTime: at,
		Data: fmt.Appendf(nil, "timer-%d", id)}
}

// createReq is a brand-new run of workflowID with events 1..3, a transfer
// task and a timer task.
func createReq(shardID int32, rangeID int64, workflowID, runID string, taskID int64) *persistence.CreateWorkflowRequest {
	return &persistence.CreateWorkflowRequest{
		ShardID: shardID, RangeID: rangeID, Mode: persistence.CurrentBrandNew,
		Current: persistence.CurrentRun{
			NamespaceID: testNamespace, WorkflowID: workflowID, RunID: runID,
			CreateRequestID: "req-" + runID, State: persistence.RunStateRunning, Status: 1,
		},
		State:       []byte("state-1-" + runID),
		NextEventID: 4,
		Events:      events(runID, 1, 3),
		Tasks:       []persistence.OutboxTask{transfer(taskID), timer(t0.Add(time.Duration(taskID)*time.Second), taskID)},
	}
}

func (f *fixture) create(req *persistence.CreateWorkflowRequest) {
	f.Helper()
	f.must(f.s.CreateWorkflow(f.ctx, req), "CreateWorkflow")
}

// updateReq moves a run from version to version+1, appending events
// from..from+1 and one transfer task.
func updateReq(shardID int32, rangeID int64, k persistence.WorkflowKey, version, from, taskID int64) *persistence.UpdateWorkflowRequest {
	return &persistence.UpdateWorkflowRequest{
		ShardID: shardID, RangeID: rangeID, Key: k, ExpectedVersion: version,
		State:       fmt.Appendf(nil, "state-%d-%s", version+1, k.RunID),
		NextEventID: from + 2,
		Events:      events(k.RunID, from, from+1),
		Tasks:       []persistence.OutboxTask{transfer(taskID)},
	}
}

// snapshot renders everything a shard holds for the given runs, so a test
// can assert that a failed write changed nothing.
func (f *fixture) snapshot(shardID int32, keys ...persistence.WorkflowKey) string {
	f.Helper()
	var b strings.Builder
	for _, k := range keys {
		rec, err := f.s.GetWorkflow(f.ctx, shardID, k)
		if err != nil && !errors.Is(err, persistence.ErrNotFound) {
			f.Fatalf("GetWorkflow: %v", err)
		}
		if rec != nil {
			fmt.Fprintf(&b, "run %v: %x next=%d v=%d\n", k, rec.State, rec.NextEventID, rec.Version)
		}
		cur, err := f.s.GetCurrentRun(f.ctx, shardID, k.NamespaceID, k.WorkflowID)
		if err != nil && !errors.Is(err, persistence.ErrNotFound) {
			f.Fatalf("GetCurrentRun: %v", err)
		}
		if cur != nil {
			fmt.Fprintf(&b, "current %+v\n", *cur)
		}
		for _, e := range f.history(shardID, k) {
			fmt.Fprintf(&b, "event %d %x\n", e.EventID, e.Data)
		}
	}
	for _, cat := range []persistence.TaskCategory{persistence.CategoryTransfer, persistence.CategoryTimer} {
		for _, t := range f.outbox(shardID, cat) {
			fmt.Fprintf(&b, "task %d %d %d %x\n", t.Category, t.VisibilityTime.UnixNano(), t.TaskID, t.Data)
		}
	}
	return b.String()
}

func (f *fixture) history(shardID int32, k persistence.WorkflowKey) []persistence.HistoryEvent {
	f.Helper()
	evs, err := f.s.ReadHistory(f.ctx, shardID, k, 1, 1<<62, 10000, false)
	f.must(err, "ReadHistory")
	return evs
}

func (f *fixture) outbox(shardID int32, cat persistence.TaskCategory) []persistence.OutboxTask {
	f.Helper()
	ts, err := f.s.GetOutboxTasks(f.ctx, shardID, cat, time.Time{}, 0, time.Time{}, 10000)
	f.must(err, "GetOutboxTasks")
	return ts
}

func (f *fixture) wantUnchanged(before string, shardID int32, keys ...persistence.WorkflowKey) {
	f.Helper()
	if after := f.snapshot(shardID, keys...); after != before {
		f.Errorf("failed write changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func (f *fixture) wantIs(err, target error, what string) {
	f.Helper()
	if !errors.Is(err, target) {
		f.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func (f *fixture) wantShardLost(err error, shardID int32, rangeID int64, what string) {
	f.Helper()
	var lost *persistence.ShardOwnershipLostError
	if !errors.As(err, &lost) {
		f.Fatalf("%s: got error %v, want *ShardOwnershipLostError", what, err)
	}
	if lost.ShardID != shardID || lost.RangeID != rangeID {
		f.Errorf("%s: ShardOwnershipLostError{%d, %d}, want {%d, %d}", what, lost.ShardID, lost.RangeID, shardID, rangeID)
	}
}

func (f *fixture) wantConflict(err error, want persistence.CurrentRun, what string) {
	f.Helper()
	var conflict *persistence.CurrentRunConflictError
	if !errors.As(err, &conflict) {
		f.Fatalf("%s: got error %v, want *CurrentRunConflictError", what, err)
	}
	if conflict.Current != want {
		f.Errorf("%s: conflict carries %+v, want %+v", what, conflict.Current, want)
	}
}

func (f *fixture) wantEvents(got []persistence.HistoryEvent, wantIDs ...int64) {
	f.Helper()
	ids := make([]int64, len(got))
	for i, e := range got {
		ids[i] = e.EventID
	}
	if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
		f.Fatalf("event IDs %v, want %v", ids, wantIDs)
	}
}

func wantBytes(t *testing.T, got, want []byte, what string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

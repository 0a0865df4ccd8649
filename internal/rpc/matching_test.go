package rpc

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/sundialhq/sundial/internal/history"
	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// recordingMatching records what reaches it.
type recordingMatching struct {
	MatchingRole
	mu       sync.Mutex
	added    []*matching.AddTaskRequest
	answers  int
	knows    bool // RespondQueryTaskCompleted finds the query
	sticky   []matching.StickyTask
	describe *matching.Description
}

func (m *recordingMatching) AddWorkflowTask(_ context.Context, req *matching.AddTaskRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.added = append(m.added, req)
	return nil
}

func (m *recordingMatching) RespondQueryTaskCompleted(context.Context, string, *workflowservice.RespondQueryTaskCompletedRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.knows {
		return matching.ErrQueryTaskNotFound
	}
	m.answers++
	return nil
}

func (m *recordingMatching) ShutdownSticky(context.Context, string, string) ([]matching.StickyTask, error) {
	return m.sticky, nil
}

func (m *recordingMatching) DescribeTaskQueue(context.Context, matching.DescribeRequest) (*matching.Description, error) {
	return m.describe, nil
}

// matchingCluster serves each fake as a matching member; the client has no
// local matching.
func matchingCluster(t *testing.T, fakes ...*recordingMatching) *MatchingClient {
	roles := make([]MatchingRole, len(fakes))
	for i, f := range fakes {
		roles[i] = f
	}
	c, _ := matchingClusterOf(t, roles...)
	return c
}

// matchingClusterOf is matchingCluster over any hosts; it also returns the
// members, in the order of fakes.
func matchingClusterOf(t *testing.T, fakes ...MatchingRole) (*MatchingClient, []membership.Member) {
	var members []membership.Member
	var lis []net.Listener
	for range fakes {
		l := listen(t)
		lis = append(lis, l)
		a := l.Addr().String()
		members = append(members, membership.Member{Identity: "matching@" + a, Role: membership.RoleMatching, RPCAddress: a})
	}
	for i, f := range fakes {
		g := grpc.NewServer()
		rpcpb.RegisterMatchingServiceServer(g, NewMatchingServer(
			NewStaticRing(members, map[string]string{membership.RoleMatching: members[i].RPCAddress}), f))
		go func() { _ = g.Serve(lis[i]) }()
		t.Cleanup(g.Stop)
	}
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	return NewMatchingClient(NewStaticRing(members, nil), conns, nil, nil), members
}

func TestMatchingCallsCrossIntact(t *testing.T) {
	now := time.Now().Truncate(time.Microsecond)
	f := &recordingMatching{
		sticky: []matching.StickyTask{{WorkflowID: "wf", RunID: "run", ScheduledEventID: 7}},
		describe: &matching.Description{
			Pollers:    []matching.Poller{{Identity: "worker-1", LastAccessTime: now, RatePerSecond: 2.5}},
			Partitions: []matching.PartitionStats{{Partition: 1, BacklogCount: 3, BacklogAge: time.Second, AddRate: 1, DispatchRate: 2, ReadLevel: 9}},
			Total:      matching.PartitionStats{BacklogCount: 3, BacklogAge: time.Second, AddRate: 1, DispatchRate: 2},
		},
	}
	c := matchingCluster(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	add := &matching.AddTaskRequest{NamespaceID: "ns", TaskQueue: "tq", Sticky: true, WorkflowID: "wf", RunID: "run",
		ScheduledEventID: 5, ScheduleToStart: 3 * time.Second}
	if err := c.AddWorkflowTask(ctx, add); err != nil {
		t.Fatal(err)
	}
	if len(f.added) != 1 || !reflect.DeepEqual(f.added[0], add) {
		t.Fatalf("AddWorkflowTask arrived as %+v, sent %+v", f.added, add)
	}
	tasks, err := c.ShutdownSticky(ctx, "ns", "sticky")
	if err != nil || !reflect.DeepEqual(tasks, f.sticky) {
		t.Fatalf("ShutdownSticky = %+v, %v; want %+v", tasks, err, f.sticky)
	}
	d, err := c.DescribeTaskQueue(ctx, matching.DescribeRequest{NamespaceID: "ns", Name: "tq", Partition: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Pollers) != 1 || !d.Pollers[0].LastAccessTime.Equal(now) || d.Pollers[0].Identity != "worker-1" ||
		!reflect.DeepEqual(d.Partitions, f.describe.Partitions) || d.Total != f.describe.Total {
		t.Fatalf("DescribeTaskQueue = %+v, want %+v", d, f.describe)
	}
}

// A query answer reaches whichever matching host waits for it.
func TestQueryAnswerFindsItsHost(t *testing.T) {
	a, b := &recordingMatching{}, &recordingMatching{knows: true}
	c := matchingCluster(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.RespondQueryTaskCompleted(ctx, "ns", &workflowservice.RespondQueryTaskCompletedRequest{}); err != nil {
		t.Fatal(err)
	}
	if b.answers != 1 {
		t.Fatalf("the waiting host got %d answers", b.answers)
	}
	b.knows = false
	if err := c.RespondQueryTaskCompleted(ctx, "ns", &workflowservice.RespondQueryTaskCompletedRequest{}); !errors.Is(err, matching.ErrQueryTaskNotFound) {
		t.Fatalf("an answer no host waits for: %v, want ErrQueryTaskNotFound", err)
	}
}

// crossHistory is a history engine fake that records cross-shard calls.
type crossHistory struct {
	fakeHistory
	signals []*history.ExternalSignalRequest
	closed  []*history.ChildClosedRequest
}

func (h *crossHistory) StartChild(context.Context, *history.ChildStartRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return nil, &history.AlreadyStartedError{RunID: "r", WorkflowID: "child"}
}
func (h *crossHistory) RecordChildClosed(_ context.Context, req *history.ChildClosedRequest) error {
	h.closed = append(h.closed, req)
	return nil
}
func (h *crossHistory) ApplyParentClosePolicy(context.Context, *history.ParentCloseRequest) error {
	return history.ErrWorkflowNotFound
}
func (h *crossHistory) SignalExternal(_ context.Context, req *history.ExternalSignalRequest) error {
	h.signals = append(h.signals, req)
	return nil
}
func (h *crossHistory) CancelExternal(context.Context, *history.ExternalCancelRequest) error {
	return sm.ErrClosed
}

func TestCrossShardCallsCrossIntact(t *testing.T) {
	p := &process{lis: listen(t)}
	p.addr = p.lis.Addr().String()
	members := []membership.Member{{Identity: "history@" + p.addr, Role: membership.RoleHistory, RPCAddress: p.addr}}
	h := &crossHistory{}
	g := grpc.NewServer()
	rpcpb.RegisterHistoryServiceServer(g, NewHistoryServer(NewStaticRing(members, map[string]string{membership.RoleHistory: p.addr}), testShards, h))
	go func() { _ = g.Serve(p.lis) }()
	t.Cleanup(g.Stop)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	x := NewHistoryClient(NewStaticRing(members, nil), conns, testShards, nil).CrossShard(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	src := persistence.WorkflowKey{NamespaceID: "ns", WorkflowID: "parent", RunID: "run"}
	sig := &history.ExternalSignalRequest{Source: src, NamespaceID: "ns2", Execution: &commonpb.WorkflowExecution{WorkflowId: "target"},
		ChildOnly: true, Signal: sm.SignalInput{Name: "go", Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{{Data: []byte("1")}}},
			RequestID: "req", EndsStartDelay: true}}
	if err := x.SignalExternal(ctx, sig); err != nil {
		t.Fatal(err)
	}
	got := h.signals[0]
	if got.Source != sig.Source || got.NamespaceID != sig.NamespaceID || !proto.Equal(got.Execution, sig.Execution) ||
		!got.ChildOnly || got.Signal.Name != "go" || got.Signal.RequestID != "req" || !got.Signal.EndsStartDelay ||
		!proto.Equal(got.Signal.Input, sig.Signal.Input) {
		t.Fatalf("SignalExternal arrived as %+v", got)
	}
	closed := &history.ChildClosedRequest{Parent: src, InitiatedEventID: 5, ChildNamespaceID: "ns", ChildFirstRunID: "first"}
	if err := x.RecordChildClosed(ctx, closed); err != nil || len(h.closed) != 1 || h.closed[0].Parent != src ||
		h.closed[0].InitiatedEventID != 5 || h.closed[0].ChildFirstRunID != "first" {
		t.Fatalf("RecordChildClosed: %v, arrived as %+v", err, h.closed)
	}
	var already *history.AlreadyStartedError
	if _, err := x.StartChild(ctx, &history.ChildStartRequest{NamespaceID: "ns", Parent: &sm.ParentInfo{},
		Request: &workflowservice.StartWorkflowExecutionRequest{WorkflowId: "child"}}); !errors.As(err, &already) {
		t.Fatalf("StartChild error %v, want AlreadyStartedError", err)
	}
	if err := x.ApplyParentClosePolicy(ctx, &history.ParentCloseRequest{Parent: src, Child: src}); !errors.Is(err, history.ErrWorkflowNotFound) {
		t.Fatalf("ApplyParentClosePolicy error %v", err)
	}
	if err := x.CancelExternal(ctx, &history.ExternalCancelRequest{Source: src, NamespaceID: "ns",
		Execution: &commonpb.WorkflowExecution{WorkflowId: "t"}}); !errors.Is(err, sm.ErrClosed) {
		t.Fatalf("CancelExternal error %v", err)
	}
}

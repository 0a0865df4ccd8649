package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

const testShards = 16

// fakeHistory answers starts with its name as the run ID; the methods it
// does not override panic (nil embedded interface).
type fakeHistory struct {
	HistoryRole
	name   string
	remote atomic.Int32 // calls that came over the network
	local  atomic.Int32
}

func (f *fakeHistory) StartWorkflowExecution(ctx context.Context, _ string, req *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if _, ok := peer.FromContext(ctx); ok {
		f.remote.Add(1)
	} else {
		f.local.Add(1)
	}
	if req.GetWorkflowId() == "exists" {
		return nil, &history.AlreadyStartedError{StartRequestID: "r1", RunID: "run-1", WorkflowID: "exists"}
	}
	return &workflowservice.StartWorkflowExecutionResponse{RunId: f.name}, nil
}

// fakeMatching long-polls until the caller goes away.
type fakeMatching struct {
	MatchingRole
	pollEnded chan error
}

func (f *fakeMatching) PollWorkflowTaskQueue(ctx context.Context, _ string, _ *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	<-ctx.Done()
	f.pollEnded <- ctx.Err()
	return nil, ctx.Err()
}

// process is one test process serving history (and matching) on loopback.
type process struct {
	addr string
	lis  net.Listener
	hist *fakeHistory
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

func serveProcess(t *testing.T, p *process, ring membership.Ring, match MatchingRole) {
	g := grpc.NewServer()
	rpcpb.RegisterHistoryServiceServer(g, NewHistoryServer(ring, testShards, p.hist))
	if match != nil {
		rpcpb.RegisterMatchingServiceServer(g, NewMatchingServer(ring, match))
	}
	go func() { _ = g.Serve(p.lis) }()
	t.Cleanup(g.Stop)
}

// twoHistories starts processes a and b, each the history member of a
// static ring of both.
func twoHistories(t *testing.T) (a, b *process, members []membership.Member) {
	a = &process{lis: listen(t), hist: &fakeHistory{name: "a"}}
	b = &process{lis: listen(t), hist: &fakeHistory{name: "b"}}
	a.addr, b.addr = a.lis.Addr().String(), b.lis.Addr().String()
	members = []membership.Member{
		{Identity: "history@" + a.addr, Role: membership.RoleHistory, RPCAddress: a.addr},
		{Identity: "history@" + b.addr, Role: membership.RoleHistory, RPCAddress: b.addr},
	}
	serveProcess(t, a, NewStaticRing(members, map[string]string{membership.RoleHistory: a.addr}), nil)
	serveProcess(t, b, NewStaticRing(members, map[string]string{membership.RoleHistory: b.addr}), nil)
	return a, b, members
}

func ownerName(ring membership.Ring, a *process, wf string) string {
	m, _ := ring.Lookup(membership.RoleHistory, membership.ShardKey(history.ShardFor("ns", wf, testShards)))
	if m.RPCAddress == a.addr {
		return "a"
	}
	return "b"
}

func start(ctx context.Context, c *HistoryClient, wf string) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return c.StartWorkflowExecution(ctx, "ns", &workflowservice.StartWorkflowExecutionRequest{WorkflowId: wf})
}

// Each call reaches its shard's owner; the owner's own calls stay in
// process.
func TestHistoryCallsGoToTheShardOwner(t *testing.T) {
	a, b, members := twoHistories(t)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	frontend := NewHistoryClient(NewStaticRing(members, nil), conns, testShards, nil)
	seen := map[string]int{}
	for i := range 40 {
		wf := fmt.Sprintf("wf-%d", i)
		resp, err := start(ctx, frontend, wf)
		if err != nil {
			t.Fatal(err)
		}
		if want := ownerName(NewStaticRing(members, nil), a, wf); resp.RunId != want {
			t.Fatalf("%s went to %s, owner is %s", wf, resp.RunId, want)
		}
		seen[resp.RunId]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("shards not spread over both members: %v", seen)
	}
	if a.hist.local.Load()+b.hist.local.Load() != 0 {
		t.Fatal("a client with no local history made an in-process call")
	}

	// Process a's own client: a's shards in process, b's over the network.
	ringA := NewStaticRing(members, map[string]string{membership.RoleHistory: a.addr})
	onA := NewHistoryClient(ringA, conns, testShards, a.hist)
	a.hist.remote.Store(0)
	b.hist.remote.Store(0)
	for i := range 40 {
		if _, err := start(ctx, onA, fmt.Sprintf("wf-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if a.hist.local.Load() != int32(seen["a"]) || a.hist.remote.Load() != 0 || b.hist.remote.Load() != int32(seen["b"]) {
		t.Fatalf("a: %d local %d remote; b: %d remote; want a %d local only, b %d remote",
			a.hist.local.Load(), a.hist.remote.Load(), b.hist.remote.Load(), seen["a"], seen["b"])
	}

	// Sundial's errors cross the hop as themselves.
	_, err := start(ctx, frontend, "exists")
	var as *history.AlreadyStartedError
	if !errors.As(err, &as) || as.RunID != "run-1" || as.StartRequestID != "r1" {
		t.Fatalf("AlreadyStartedError over the wire came back as %#v", err)
	}
}

// movedRing answers a stale owner for the first lookups, as a client's
// view does while ownership moves.
type movedRing struct {
	membership.Ring
	stale    membership.Member
	staleFor int32
	lookups  atomic.Int32
}

func (r *movedRing) Lookup(role, key string) (membership.Member, error) {
	if r.lookups.Add(1) <= r.staleFor {
		return r.stale, nil
	}
	return r.Ring.Lookup(role, key)
}

func TestNotOwnerIsRetriedOnTheNewOwner(t *testing.T) {
	a, b, members := twoHistories(t)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	ring := NewStaticRing(members, nil)
	wf := ""
	for i := 0; wf == ""; i++ {
		if w := fmt.Sprintf("wf-%d", i); ownerName(ring, a, w) == "b" {
			wf = w
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	moved := &movedRing{Ring: ring, stale: members[0], staleFor: 3}
	resp, err := start(ctx, NewHistoryClient(moved, conns, testShards, nil), wf)
	if err != nil || resp.RunId != "b" {
		t.Fatalf("start = %v, %v; want b's answer after the move", resp, err)
	}
	if a.hist.remote.Load() != 0 || b.hist.remote.Load() != 1 {
		t.Fatalf("a ran %d starts, b %d; want the stale owner to refuse and b to run it once", a.hist.remote.Load(), b.hist.remote.Load())
	}

	// A view that never catches up ends at the caller's deadline, with a
	// retryable code.
	stuck := &movedRing{Ring: ring, stale: members[0], staleFor: 1 << 30}
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	_, err = start(short, NewHistoryClient(stuck, conns, testShards, nil), wf)
	var unavailable *serviceerror.Unavailable
	if !errors.As(err, &unavailable) {
		t.Fatalf("stuck routing ended with %v (%T), want Unavailable", err, err)
	}
}

// A long poll ends with the caller's deadline on the far side too, and
// answers empty as the engine does.
func TestLongPollHonoursTheCallersDeadline(t *testing.T) {
	p := &process{lis: listen(t), hist: &fakeHistory{name: "m"}}
	p.addr = p.lis.Addr().String()
	members := []membership.Member{{Identity: "matching@" + p.addr, Role: membership.RoleMatching, RPCAddress: p.addr}}
	fm := &fakeMatching{pollEnded: make(chan error, 1)}
	serveProcess(t, p, NewStaticRing(members, map[string]string{membership.RoleMatching: p.addr}), fm)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	c := NewMatchingClient(NewStaticRing(members, nil), conns, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	resp, err := c.PollWorkflowTaskQueue(ctx, "ns", &workflowservice.PollWorkflowTaskQueueRequest{
		TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}})
	if err != nil || resp == nil || len(resp.TaskToken) != 0 {
		t.Fatalf("poll = %v, %v; want an empty response", resp, err)
	}
	select {
	case err := <-fm.pollEnded:
		if err == nil {
			t.Fatal("the remote poll ended with no context error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the remote poll did not end with the caller's deadline")
	}
}

// handOffHistory answers as a shard's new owner does before it has
// acquired the shard, or an old owner that is leaving, for its first
// calls.
type handOffHistory struct {
	HistoryRole
	errs  []error
	calls atomic.Int32
}

func (h *handOffHistory) StartWorkflowExecution(context.Context, string, *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	if n := int(h.calls.Add(1)); n <= len(h.errs) {
		return nil, h.errs[n-1]
	}
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "after-move"}, nil
}

// A shard in hand-off (ownership lost, a lost task-queue lease, a history
// role shutting down) is retried until the owner serves it: the caller
// sees only the answer.
func TestHandOffAnswersAreRetried(t *testing.T) {
	lis := listen(t)
	addr := lis.Addr().String()
	fake := &handOffHistory{errs: []error{
		&persistence.ShardOwnershipLostError{ShardID: 3, RangeID: 7},
		history.ErrShuttingDown,
		&persistence.TaskQueueLeaseLostError{},
	}}
	members := []membership.Member{{Identity: "history@" + addr, Role: membership.RoleHistory, RPCAddress: addr}}
	g := grpc.NewServer()
	rpcpb.RegisterHistoryServiceServer(g, NewHistoryServer(NewStaticRing(members, map[string]string{membership.RoleHistory: addr}), testShards, fake))
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := start(ctx, NewHistoryClient(NewStaticRing(members, nil), conns, testShards, nil), "wf")
	if err != nil || resp.RunId != "after-move" || fake.calls.Load() != 4 {
		t.Fatalf("start = %v, %v after %d calls; want the answer after 3 retried refusals", resp, err, fake.calls.Load())
	}
}

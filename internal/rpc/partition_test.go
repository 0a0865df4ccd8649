package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// partitionMatching is a matching host that records which partitions and
// forwarded work reach it; it answers polls with its name as the token.
type partitionMatching struct {
	recordingMatching
	name      string
	forwarded []*matching.ForwardedTask
	fwdPolls  int
}

func (m *partitionMatching) PollWorkflowTaskQueue(context.Context, string, *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	return &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte(m.name)}, nil
}

func (m *partitionMatching) PollWorkflowTaskQueueForwarded(context.Context, string, *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	m.mu.Lock()
	m.fwdPolls++
	m.mu.Unlock()
	return &workflowservice.PollWorkflowTaskQueueResponse{TaskToken: []byte("forwarded:" + m.name)}, nil
}

func (m *partitionMatching) PollActivityTaskQueueForwarded(context.Context, string, *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	return nil, errors.New("unused")
}

func (m *partitionMatching) OfferForwardedTask(_ context.Context, t *matching.ForwardedTask) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forwarded = append(m.forwarded, t)
	return true, nil
}

// DescribeTaskQueue describes the one partition asked: backlog p+1, and
// this host as a poller.
func (m *partitionMatching) DescribeTaskQueue(_ context.Context, r matching.DescribeRequest) (*matching.Description, error) {
	ps := matching.PartitionStats{Partition: r.Partition, BacklogCount: int64(r.Partition) + 1, AddRate: 1}
	return &matching.Description{Pollers: []matching.Poller{{Identity: m.name, LastAccessTime: time.Unix(int64(r.Partition), 0)}},
		Partitions: []matching.PartitionStats{ps}, Total: ps}, nil
}

// Each add and poll goes to the owner of a partition (membership.PartitionKey)
// that carries the partition; a whole queue's description gathers every
// partition from its owner; forwarded work goes to the root's owner.
func TestMatchingPartitionsRouteToTheirOwners(t *testing.T) {
	a := &partitionMatching{name: "a"}
	b := &partitionMatching{name: "b"}
	fakes := map[string]*partitionMatching{}
	c, members := matchingClusterOf(t, a, b)
	for i, f := range []*partitionMatching{a, b} {
		fakes[members[i].Identity] = f
	}
	ring := NewStaticRing(members, nil)
	owner := func(tq string, p int32) *partitionMatching {
		m, _ := ring.Lookup(membership.RoleMatching, partitionKey("ns", tq, false, p))
		return fakes[m.Identity]
	}
	n := matching.NumPartitions(nil, false)
	tq := ""
	for i := 0; tq == ""; i++ { // a queue whose partitions both hosts share
		name := fmt.Sprintf("tq-%d", i)
		for p := 1; p < n; p++ {
			if owner(name, int32(p)) != owner(name, 0) {
				tq = name
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for i := range 200 {
		if err := c.AddWorkflowTask(ctx, &matching.AddTaskRequest{NamespaceID: "ns", TaskQueue: tq, WorkflowID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int32]bool{}
	for _, f := range []*partitionMatching{a, b} {
		if len(f.added) == 0 {
			t.Errorf("%s got no add", f.name)
		}
		for _, r := range f.added {
			if owner(tq, r.Partition) != f {
				t.Fatalf("an add for partition %d reached %s, not its owner", r.Partition, f.name)
			}
			seen[r.Partition] = true
		}
	}
	if len(seen) != n {
		t.Errorf("adds reached partitions %v, want all %d", seen, n)
	}
	// A sticky queue has one partition: its root.
	a.added, b.added = nil, nil
	if err := c.AddWorkflowTask(ctx, &matching.AddTaskRequest{NamespaceID: "ns", TaskQueue: tq, Sticky: true}); err != nil {
		t.Fatal(err)
	}
	if root := owner(tq, 0); len(root.added) != 1 || root.added[0].Partition != 0 {
		t.Errorf("a sticky add reached a %d times, b %d times; want the root's owner %s", len(a.added), len(b.added), root.name)
	}

	polled := map[string]int{}
	for range 40 {
		resp, err := c.PollWorkflowTaskQueue(ctx, "ns", &workflowservice.PollWorkflowTaskQueueRequest{
			TaskQueue: &taskqueuepb.TaskQueue{Name: tq, Kind: enumspb.TASK_QUEUE_KIND_NORMAL}})
		if err != nil {
			t.Fatal(err)
		}
		polled[string(resp.TaskToken)]++
	}
	if polled["a"] == 0 || polled["b"] == 0 {
		t.Errorf("polls reached %v, want both hosts", polled)
	}

	// A server refuses a partition it does not own.
	for p := range int32(n) {
		o := owner(tq, p)
		other := a
		if o == a {
			other = b
		}
		addr := members[0].RPCAddress
		if fakes[members[1].Identity] == other {
			addr = members[1].RPCAddress
		}
		cc, err := c.conns.get(addr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rpcpb.NewMatchingServiceClient(cc).AddWorkflowTask(ctx, &rpcpb.AddTaskRequest{NamespaceId: "ns", TaskQueue: tq, Partition: p})
		if !errors.Is(FromStatus(err), ErrNotOwner) {
			t.Errorf("%s took an add for partition %d: %v", other.name, p, err)
		}
	}

	d, err := c.DescribeTaskQueue(ctx, matching.DescribeRequest{NamespaceID: "ns", Name: tq, Partition: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != n || d.Total.BacklogCount != int64(n*(n+1)/2) || d.Total.AddRate != float64(n) {
		t.Fatalf("whole queue described as %+v", d)
	}
	for i, ps := range d.Partitions {
		if ps.Partition != int32(i) {
			t.Fatalf("partitions out of order: %+v", d.Partitions)
		}
	}
	if len(d.Pollers) != 2 {
		t.Fatalf("pollers %+v, want each host once", d.Pollers)
	}

	fwd := NewMatchingForwarder(ring, c.conns)
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	sent := &matching.ForwardedTask{NamespaceID: "ns", TaskQueue: tq, WorkflowID: "wf", RunID: "run", ScheduledEventID: 3,
		CreatedAt: time.Unix(0, 12345), ExpiresAt: exp, Backlog: true}
	matched, err := fwd.ForwardTask(ctx, sent)
	if err != nil || !matched {
		t.Fatalf("ForwardTask = %v, %v", matched, err)
	}
	root := owner(tq, 0)
	if len(root.forwarded) != 1 || !root.forwarded[0].ExpiresAt.Equal(exp) || !root.forwarded[0].CreatedAt.Equal(sent.CreatedAt) {
		t.Fatalf("the root's owner got %+v", root.forwarded)
	}
	got := *root.forwarded[0]
	got.ExpiresAt, got.CreatedAt = sent.ExpiresAt, sent.CreatedAt
	if !reflect.DeepEqual(&got, sent) {
		t.Fatalf("ForwardTask arrived as %+v, sent %+v", got, sent)
	}
	resp, err := fwd.ForwardPollWorkflowTask(ctx, "ns", &workflowservice.PollWorkflowTaskQueueRequest{
		TaskQueue: &taskqueuepb.TaskQueue{Name: tq}})
	if err != nil || string(resp.TaskToken) != "forwarded:"+root.name || root.fwdPolls != 1 {
		t.Fatalf("forwarded poll answered %q, %v; want the root's owner %s", resp.GetTaskToken(), err, root.name)
	}
}

package frontend

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/matching"
)

// fakeDescriber answers with a fixed description and records requests.
type fakeDescriber struct{ reqs []matching.DescribeRequest }

func (f *fakeDescriber) NumPartitions(sticky bool) int {
	if sticky {
		return 1
	}
	return 4
}

func (f *fakeDescriber) DescribeTaskQueue(_ context.Context, req matching.DescribeRequest) (*matching.Description, error) {
	f.reqs = append(f.reqs, req)
	if req.Partition > 3 {
		return nil, matching.ErrNoSuchPartition
	}
	n := int64(7)
	if req.Activity {
		n = 3
	}
	return &matching.Description{
		Pollers: []matching.Poller{{Identity: "w1", LastAccessTime: time.Unix(100, 0), RatePerSecond: 5}},
		Total:   matching.PartitionStats{BacklogCount: n, BacklogAge: time.Second, AddRate: 1, DispatchRate: 2},
	}, nil
}

func TestParsePartition(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		part int32
		bad  bool
	}{
		{"tq", "tq", -1, false},
		{"/_sys/tq/2", "tq", 2, false},
		{"/_sys/a/b/3", "a/b", 3, false},
		{"/_sys/tq", "", 0, true},
		{"/_sys/tq/x", "", 0, true},
		{"/_sys/tq/-1", "", 0, true},
	} {
		name, part, err := parsePartition(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (name != tc.name || part != tc.part)) {
			t.Errorf("parsePartition(%q) = %q, %d, %v", tc.in, name, part, err)
		}
	}
}

func TestDescribeTaskQueueModes(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	req := &workflowservice.DescribeTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}}
	if _, err := env.h.DescribeTaskQueue(ctx, req); serviceerror.ToStatus(err).Code().String() != "Unimplemented" {
		t.Fatalf("without a describer: %v, want Unimplemented", err)
	}
	fake := &fakeDescriber{}
	env.h.opts.TaskQueues = fake

	req.ReportStats, req.IncludeTaskQueueStatus = true, true
	resp, err := env.h.DescribeTaskQueue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStats().GetApproximateBacklogCount() != 7 || resp.GetTaskQueueStatus().GetBacklogCountHint() != 7 ||
		resp.GetStats().GetApproximateBacklogAge().AsDuration() != time.Second || resp.GetStats().GetTasksDispatchRate() != 2 {
		t.Errorf("default mode: %v", resp)
	}
	if len(resp.GetPollers()) != 1 || resp.GetPollers()[0].GetIdentity() != "w1" {
		t.Errorf("pollers: %v", resp.GetPollers())
	}
	if r := fake.reqs[0]; r.NamespaceID != env.nsID || r.Name != "tq" || r.Partition != -1 || r.Activity {
		t.Errorf("matching request %+v", r)
	}

	req = &workflowservice.DescribeTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"},
		ApiMode: enumspb.DESCRIBE_TASK_QUEUE_MODE_ENHANCED, ReportStats: true, ReportPollers: true}
	resp, err = env.h.DescribeTaskQueue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	types := resp.GetVersionsInfo()[""].GetTypesInfo()
	if types[int32(enumspb.TASK_QUEUE_TYPE_WORKFLOW)].GetStats().GetApproximateBacklogCount() != 7 ||
		types[int32(enumspb.TASK_QUEUE_TYPE_ACTIVITY)].GetStats().GetApproximateBacklogCount() != 3 ||
		len(types[int32(enumspb.TASK_QUEUE_TYPE_ACTIVITY)].GetPollers()) != 1 {
		t.Errorf("enhanced mode: %v", resp)
	}

	req = &workflowservice.DescribeTaskQueueRequest{Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: "/_sys/tq/9"}}
	if _, err := env.h.DescribeTaskQueue(ctx, req); serviceerror.ToStatus(err).Code().String() != "InvalidArgument" {
		t.Errorf("missing partition: %v, want InvalidArgument", err)
	}
	req.TaskQueue.Name = ""
	if _, err := env.h.DescribeTaskQueue(ctx, req); serviceerror.ToStatus(err).Code().String() != "InvalidArgument" {
		t.Errorf("empty name: %v, want InvalidArgument", err)
	}
}

func TestListTaskQueuePartitions(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.h.opts.TaskQueues = &fakeDescriber{}
	env.h.opts.HostAddress = "10.0.0.1:7233"
	list := func(name string, kind enumspb.TaskQueueKind) (*workflowservice.ListTaskQueuePartitionsResponse, error) {
		return env.h.ListTaskQueuePartitions(ctx, &workflowservice.ListTaskQueuePartitionsRequest{
			Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: name, Kind: kind}})
	}
	resp, err := list("tq", enumspb.TASK_QUEUE_KIND_NORMAL)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range resp.GetWorkflowTaskQueuePartitions() {
		if p.GetOwnerHostName() != "10.0.0.1:7233" {
			t.Errorf("owner %q", p.GetOwnerHostName())
		}
		keys = append(keys, p.GetKey())
	}
	if got := strings.Join(keys, ","); got != "tq,/_sys/tq/1,/_sys/tq/2,/_sys/tq/3" {
		t.Fatalf("workflow partitions %s", got)
	}
	if len(resp.GetActivityTaskQueuePartitions()) != 4 {
		t.Fatalf("activity partitions %v", resp.GetActivityTaskQueuePartitions())
	}
	if resp, err := list("host:uuid", enumspb.TASK_QUEUE_KIND_STICKY); err != nil || len(resp.GetWorkflowTaskQueuePartitions()) != 1 {
		t.Fatalf("sticky: %v, %v", resp, err)
	}
	for _, bad := range []string{"", "/_sys/tq/1"} {
		if _, err := list(bad, enumspb.TASK_QUEUE_KIND_NORMAL); serviceerror.ToStatus(err).Code().String() != "InvalidArgument" {
			t.Errorf("task queue %q: %v, want InvalidArgument", bad, err)
		}
	}
	_, err = env.h.ListTaskQueuePartitions(ctx, &workflowservice.ListTaskQueuePartitionsRequest{
		Namespace: "nope", TaskQueue: &taskqueuepb.TaskQueue{Name: "tq"}})
	if serviceerror.ToStatus(err).Code().String() != "NotFound" {
		t.Fatalf("unknown namespace: %v", err)
	}
}

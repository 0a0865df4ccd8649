package rpc

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/frontend"
	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/matching"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
)

// MatchingRole is the matching role as the other roles use it: history's
// MatchingClient and the frontend's Matching and TaskQueueDescriber.
type MatchingRole interface {
	history.MatchingClient
	frontend.Matching
	frontend.TaskQueueDescriber
}

var _ MatchingRole = (*MatchingClient)(nil)

// Task queue kinds of membership.TaskQueueKey.
const (
	kindWorkflow = "workflow"
	kindActivity = "activity"
)

// partitionKey is the ring key of partition p of a task queue: each
// partition is served by its own owner, as the matching engine leases
// them; docs/DECISIONS.md, "Matching partitions".
func partitionKey(namespaceID, taskQueue string, activity bool, p int32) string {
	kind := kindWorkflow
	if activity {
		kind = kindActivity
	}
	return membership.PartitionKey(namespaceID, taskQueue, kind, int(p))
}

// queueKey is the ring key of a task queue's root partition
// (membership.TaskQueueKey), whose owner serves queries, sticky queues and
// forwarded work.
func queueKey(namespaceID, taskQueue string, activity bool) string {
	return partitionKey(namespaceID, taskQueue, activity, 0)
}

// MatchingClient is the matching role for a process that may not own the
// task queue: each call goes to the queue's owner.
type MatchingClient struct {
	ring  membership.Ring
	conns *Conns
	dyn   *config.Dynamic
	local MatchingRole // nil when this process does not run matching
}

// NewMatchingClient routes over ring; local is this process's matching
// engine, or nil. dyn sizes task queues (NumPartitions).
func NewMatchingClient(ring membership.Ring, conns *Conns, dyn *config.Dynamic, local MatchingRole) *MatchingClient {
	return &MatchingClient{ring: ring, conns: conns, dyn: dyn, local: local}
}

func (c *MatchingClient) call(ctx context.Context, key string,
	local func(context.Context, MatchingRole) error, remote func(context.Context, rpcpb.MatchingServiceClient) error) error {
	return route(ctx, c.ring, c.conns, membership.RoleMatching, key, c.local != nil,
		func(ctx context.Context) error { return local(ctx, c.local) },
		func(ctx context.Context, cc *grpc.ClientConn) error {
			return FromStatus(remote(ctx, rpcpb.NewMatchingServiceClient(cc)))
		})
}

// pick chooses the partition of an add or a poll: 0 for a sticky queue
// (it has one), else a random one, so that adds and polls spread over the
// partitions and their owners.
func (c *MatchingClient) pick(sticky bool) int32 {
	n := c.NumPartitions(sticky)
	if n <= 1 {
		return 0
	}
	return int32(rand.IntN(n))
}

func addTaskPB(r *matching.AddTaskRequest) *rpcpb.AddTaskRequest {
	pb := &rpcpb.AddTaskRequest{NamespaceId: r.NamespaceID, TaskQueue: r.TaskQueue, Sticky: r.Sticky,
		WorkflowId: r.WorkflowID, RunId: r.RunID, ScheduledEventId: r.ScheduledEventID, Partition: r.Partition}
	if r.ScheduleToStart != 0 {
		pb.ScheduleToStart = durationpb.New(r.ScheduleToStart)
	}
	return pb
}

func addTaskFromPB(r *rpcpb.AddTaskRequest) *matching.AddTaskRequest {
	return &matching.AddTaskRequest{NamespaceID: r.GetNamespaceId(), TaskQueue: r.GetTaskQueue(), Sticky: r.GetSticky(),
		WorkflowID: r.GetWorkflowId(), RunID: r.GetRunId(), ScheduledEventID: r.GetScheduledEventId(),
		ScheduleToStart: r.GetScheduleToStart().AsDuration(), Partition: r.GetPartition()}
}

// AddWorkflowTask sends the task to the owner of a partition chosen by
// pick, naming the partition.
func (c *MatchingClient) AddWorkflowTask(ctx context.Context, req *matching.AddTaskRequest) error {
	r := *req
	r.Partition = c.pick(r.Sticky)
	return c.call(ctx, partitionKey(r.NamespaceID, r.TaskQueue, false, r.Partition),
		func(ctx context.Context, m MatchingRole) error { return m.AddWorkflowTask(ctx, &r) },
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
			_, err := cl.AddWorkflowTask(ctx, addTaskPB(&r))
			return err
		})
}

func (c *MatchingClient) AddActivityTask(ctx context.Context, req *matching.AddTaskRequest) error {
	r := *req
	r.Partition = c.pick(r.Sticky)
	return c.call(ctx, partitionKey(r.NamespaceID, r.TaskQueue, true, r.Partition),
		func(ctx context.Context, m MatchingRole) error { return m.AddActivityTask(ctx, &r) },
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
			_, err := cl.AddActivityTask(ctx, addTaskPB(&r))
			return err
		})
}

func (c *MatchingClient) DispatchQuery(ctx context.Context, namespaceID, taskQueue string, sticky bool, task *workflowservice.PollWorkflowTaskQueueResponse) (*matching.QueryResult, error) {
	var res *matching.QueryResult
	err := c.call(ctx, queueKey(namespaceID, taskQueue, false),
		func(ctx context.Context, m MatchingRole) (err error) {
			res, err = m.DispatchQuery(ctx, namespaceID, taskQueue, sticky, task)
			return err
		},
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
			r, err := cl.DispatchQuery(ctx, &rpcpb.DispatchQueryRequest{NamespaceId: namespaceID, TaskQueue: taskQueue,
				Sticky: sticky, Task: task})
			if err == nil {
				res = &matching.QueryResult{Answer: r.GetAnswer(), Failed: r.GetFailed(),
					ErrorMessage: r.GetErrorMessage(), Failure: r.GetFailure()}
			}
			return err
		})
	return res, err
}

// PollWorkflowTaskQueue long-polls on the owner of a partition chosen by
// pick (whose engine forwards the poll to the root's owner when it has no
// task). The caller's deadline and cancellation cross the hop; a poll that
// ends with the caller's context answers empty, as the engine does.
func (c *MatchingClient) PollWorkflowTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	var resp *workflowservice.PollWorkflowTaskQueueResponse
	p := c.pick(req.GetTaskQueue().GetKind() == enumspb.TASK_QUEUE_KIND_STICKY)
	err := c.call(ctx, partitionKey(namespaceID, req.GetTaskQueue().GetName(), false, p),
		func(ctx context.Context, m MatchingRole) (err error) {
			resp, err = m.PollWorkflowTaskQueue(ctx, namespaceID, req)
			return err
		},
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) (err error) {
			ctx, cancel := pollContext(ctx)
			defer cancel()
			resp, err = cl.PollWorkflowTaskQueue(ctx, &rpcpb.PollWorkflowTaskQueueRequest{NamespaceId: namespaceID, Request: req,
				Partition: p})
			return err
		})
	if pollEnded(ctx, err) {
		return &workflowservice.PollWorkflowTaskQueueResponse{}, nil
	}
	return resp, err
}

func (c *MatchingClient) PollActivityTaskQueue(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	var resp *workflowservice.PollActivityTaskQueueResponse
	p := c.pick(req.GetTaskQueue().GetKind() == enumspb.TASK_QUEUE_KIND_STICKY)
	err := c.call(ctx, partitionKey(namespaceID, req.GetTaskQueue().GetName(), true, p),
		func(ctx context.Context, m MatchingRole) (err error) {
			resp, err = m.PollActivityTaskQueue(ctx, namespaceID, req)
			return err
		},
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) (err error) {
			ctx, cancel := pollContext(ctx)
			defer cancel()
			resp, err = cl.PollActivityTaskQueue(ctx, &rpcpb.PollActivityTaskQueueRequest{NamespaceId: namespaceID, Request: req,
				Partition: p})
			return err
		})
	if pollEnded(ctx, err) {
		return &workflowservice.PollActivityTaskQueueResponse{}, nil
	}
	return resp, err
}

// pollContext ends a remote long poll a little before the caller's
// deadline, so the owner answers empty in time rather than the hop failing
// with the deadline.
func pollContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Second, time.Until(dl)/5)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// pollEnded: a poll that failed because its context ended (the caller's
// or the hop's) found no task, which the engine reports as an empty
// response.
func pollEnded(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	var deadline *serviceerror.DeadlineExceeded
	var canceled *serviceerror.Canceled
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &deadline) || errors.As(err, &canceled)
}

// RespondQueryTaskCompleted goes to the matching host whose DispatchQuery
// waits for the answer. The query token names no task queue, so the hosts
// are asked in turn (this one first) until one knows the query.
func (c *MatchingClient) RespondQueryTaskCompleted(ctx context.Context, namespaceID string, req *workflowservice.RespondQueryTaskCompletedRequest) error {
	err := matching.ErrQueryTaskNotFound
	if c.local != nil {
		if err = c.local.RespondQueryTaskCompleted(ctx, namespaceID, req); !errors.Is(err, matching.ErrQueryTaskNotFound) {
			return err
		}
	}
	self, _ := c.ring.Self(membership.RoleMatching)
	for _, m := range c.ring.Members(membership.RoleMatching) {
		if c.local != nil && m.Identity == self.Identity {
			continue
		}
		cc, cerr := c.conns.get(m.RPCAddress)
		if cerr != nil {
			continue
		}
		_, rerr := rpcpb.NewMatchingServiceClient(cc).RespondQueryTaskCompleted(ctx,
			&rpcpb.RespondQueryTaskCompletedRequest{NamespaceId: namespaceID, Request: req})
		if err = FromStatus(rerr); !errors.Is(err, matching.ErrQueryTaskNotFound) && !retryable(err) {
			return err
		}
	}
	if retryable(err) {
		return matching.ErrQueryTaskNotFound
	}
	return err
}

func (c *MatchingClient) ShutdownSticky(ctx context.Context, namespaceID, stickyQueue string) ([]matching.StickyTask, error) {
	var tasks []matching.StickyTask
	err := c.call(ctx, queueKey(namespaceID, stickyQueue, false),
		func(ctx context.Context, m MatchingRole) (err error) {
			tasks, err = m.ShutdownSticky(ctx, namespaceID, stickyQueue)
			return err
		},
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
			r, err := cl.ShutdownSticky(ctx, &rpcpb.ShutdownStickyRequest{NamespaceId: namespaceID, StickyQueue: stickyQueue})
			for _, t := range r.GetTasks() {
				tasks = append(tasks, matching.StickyTask{WorkflowID: t.GetWorkflowId(), RunID: t.GetRunId(),
					ScheduledEventID: t.GetScheduledEventId()})
			}
			return err
		})
	return tasks, err
}

// DescribeTaskQueue asks the owner of the partition described; a whole
// queue is asked of each partition's owner in turn and the answers merged
// (see mergeDescriptions).
func (c *MatchingClient) DescribeTaskQueue(ctx context.Context, req matching.DescribeRequest) (*matching.Description, error) {
	n := c.NumPartitions(req.Sticky && !req.Activity)
	if req.Partition >= 0 || n <= 1 {
		return c.describe(ctx, req)
	}
	parts := make([]*matching.Description, 0, n)
	for p := range int32(n) {
		r := req
		r.Partition = p
		d, err := c.describe(ctx, r)
		if err != nil {
			return nil, err
		}
		parts = append(parts, d)
	}
	return mergeDescriptions(parts), nil
}

// mergeDescriptions joins the descriptions of a queue's partitions, as
// the engine describes a queue it holds whole: partitions in order, totals
// summed (the age is the oldest), each poller once with its latest access.
func mergeDescriptions(parts []*matching.Description) *matching.Description {
	d := &matching.Description{}
	pollers := map[string]matching.Poller{}
	for _, pd := range parts {
		d.Partitions = append(d.Partitions, pd.Partitions...)
		d.Total.BacklogCount += pd.Total.BacklogCount
		d.Total.BacklogAge = max(d.Total.BacklogAge, pd.Total.BacklogAge)
		d.Total.AddRate += pd.Total.AddRate
		d.Total.DispatchRate += pd.Total.DispatchRate
		for _, p := range pd.Pollers {
			if old, ok := pollers[p.Identity]; !ok || p.LastAccessTime.After(old.LastAccessTime) {
				pollers[p.Identity] = p
			}
		}
	}
	for _, p := range pollers {
		d.Pollers = append(d.Pollers, p)
	}
	sort.Slice(d.Pollers, func(i, j int) bool {
		a, b := d.Pollers[i], d.Pollers[j]
		if !a.LastAccessTime.Equal(b.LastAccessTime) {
			return a.LastAccessTime.After(b.LastAccessTime)
		}
		return a.Identity < b.Identity
	})
	return d
}

func (c *MatchingClient) describe(ctx context.Context, req matching.DescribeRequest) (*matching.Description, error) {
	var d *matching.Description
	err := c.call(ctx, partitionKey(req.NamespaceID, req.Name, req.Activity, max(req.Partition, 0)),
		func(ctx context.Context, m MatchingRole) (err error) {
			d, err = m.DescribeTaskQueue(ctx, req)
			return err
		},
		func(ctx context.Context, cl rpcpb.MatchingServiceClient) error {
			r, err := cl.DescribeTaskQueue(ctx, &rpcpb.DescribeTaskQueueRequest{NamespaceId: req.NamespaceID,
				Name: req.Name, Activity: req.Activity, Sticky: req.Sticky, Partition: req.Partition})
			if err == nil {
				d = descriptionFromPB(r)
			}
			return err
		})
	return d, err
}

// NumPartitions is computed here from the dynamic config, as on every host.
func (c *MatchingClient) NumPartitions(sticky bool) int { return matching.NumPartitions(c.dyn, sticky) }

// PartitionOwner is the internal RPC address of the matching member the
// ring gives the partition, "" when none is alive (ListTaskQueuePartitions).
func (c *MatchingClient) PartitionOwner(namespaceID, taskQueue string, activity bool, partition int) string {
	m, err := c.ring.Lookup(membership.RoleMatching, partitionKey(namespaceID, taskQueue, activity, int32(partition)))
	if err != nil {
		return ""
	}
	return m.RPCAddress
}

func statsPB(s matching.PartitionStats) *rpcpb.PartitionStats {
	return &rpcpb.PartitionStats{Partition: s.Partition, BacklogCount: s.BacklogCount,
		BacklogAge: durationpb.New(s.BacklogAge), AddRate: s.AddRate, DispatchRate: s.DispatchRate, ReadLevel: s.ReadLevel}
}

func statsFromPB(s *rpcpb.PartitionStats) matching.PartitionStats {
	return matching.PartitionStats{Partition: s.GetPartition(), BacklogCount: s.GetBacklogCount(),
		BacklogAge: s.GetBacklogAge().AsDuration(), AddRate: s.GetAddRate(), DispatchRate: s.GetDispatchRate(),
		ReadLevel: s.GetReadLevel()}
}

func descriptionPB(d *matching.Description) *rpcpb.DescribeTaskQueueResponse {
	pb := &rpcpb.DescribeTaskQueueResponse{Total: statsPB(d.Total)}
	for _, p := range d.Pollers {
		pb.Pollers = append(pb.Pollers, &rpcpb.Poller{Identity: p.Identity,
			LastAccessTime: timestamppb.New(p.LastAccessTime), RatePerSecond: p.RatePerSecond})
	}
	for _, s := range d.Partitions {
		pb.Partitions = append(pb.Partitions, statsPB(s))
	}
	return pb
}

func descriptionFromPB(pb *rpcpb.DescribeTaskQueueResponse) *matching.Description {
	d := &matching.Description{Total: statsFromPB(pb.GetTotal())}
	for _, p := range pb.GetPollers() {
		var at time.Time
		if p.GetLastAccessTime() != nil {
			at = p.GetLastAccessTime().AsTime().Local()
		}
		d.Pollers = append(d.Pollers, matching.Poller{Identity: p.GetIdentity(), LastAccessTime: at,
			RatePerSecond: p.GetRatePerSecond()})
	}
	for _, s := range pb.GetPartitions() {
		d.Partitions = append(d.Partitions, statsFromPB(s))
	}
	return d
}

// MatchingServer serves this process's matching role to the others. A
// call for a task queue the ring gives to another member answers
// ErrNotOwner.
type MatchingServer struct {
	rpcpb.UnimplementedMatchingServiceServer
	ring  membership.Ring
	local MatchingRole
}

// NewMatchingServer serves local.
func NewMatchingServer(ring membership.Ring, local MatchingRole) *MatchingServer {
	return &MatchingServer{ring: ring, local: local}
}

// owns checks that the ring gives this process partition p of the queue.
func (s *MatchingServer) owns(namespaceID, taskQueue string, activity bool, p int32) error {
	return ownsKey(s.ring, membership.RoleMatching, partitionKey(namespaceID, taskQueue, activity, max(p, 0)))
}

// forwardTarget is the root's side of matching.Forwarder, which the
// matching engine implements.
type forwardTarget interface {
	OfferForwardedTask(ctx context.Context, t *matching.ForwardedTask) (bool, error)
	PollWorkflowTaskQueueForwarded(ctx context.Context, namespaceID string, req *workflowservice.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error)
	PollActivityTaskQueueForwarded(ctx context.Context, namespaceID string, req *workflowservice.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error)
}

func (s *MatchingServer) forwardTarget() (forwardTarget, error) {
	if ft, ok := s.local.(forwardTarget); ok {
		return ft, nil
	}
	return nil, status.Error(codes.Unimplemented, "matching: this process does not take forwarded work")
}

func (s *MatchingServer) ForwardTask(ctx context.Context, r *rpcpb.ForwardTaskRequest) (*rpcpb.ForwardTaskResponse, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetTaskQueue(), r.GetActivity(), 0); err != nil {
		return nil, ToStatus(err)
	}
	ft, err := s.forwardTarget()
	if err != nil {
		return nil, err
	}
	matched, err := ft.OfferForwardedTask(ctx, forwardedTaskFromPB(r))
	if err != nil {
		return nil, ToStatus(err)
	}
	return &rpcpb.ForwardTaskResponse{Matched: matched}, nil
}

func (s *MatchingServer) AddWorkflowTask(ctx context.Context, r *rpcpb.AddTaskRequest) (*rpcpb.Empty, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetTaskQueue(), false, r.GetPartition()); err != nil {
		return nil, ToStatus(err)
	}
	if err := s.local.AddWorkflowTask(ctx, addTaskFromPB(r)); err != nil {
		return nil, ToStatus(err)
	}
	return &rpcpb.Empty{}, nil
}

func (s *MatchingServer) AddActivityTask(ctx context.Context, r *rpcpb.AddTaskRequest) (*rpcpb.Empty, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetTaskQueue(), true, r.GetPartition()); err != nil {
		return nil, ToStatus(err)
	}
	if err := s.local.AddActivityTask(ctx, addTaskFromPB(r)); err != nil {
		return nil, ToStatus(err)
	}
	return &rpcpb.Empty{}, nil
}

func (s *MatchingServer) DispatchQuery(ctx context.Context, r *rpcpb.DispatchQueryRequest) (*rpcpb.QueryResult, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetTaskQueue(), false, 0); err != nil {
		return nil, ToStatus(err)
	}
	res, err := s.local.DispatchQuery(ctx, r.GetNamespaceId(), r.GetTaskQueue(), r.GetSticky(), r.GetTask())
	if err != nil {
		return nil, ToStatus(err)
	}
	if res == nil {
		return &rpcpb.QueryResult{}, nil
	}
	return &rpcpb.QueryResult{Answer: res.Answer, Failed: res.Failed, ErrorMessage: res.ErrorMessage, Failure: res.Failure}, nil
}

func (s *MatchingServer) PollWorkflowTaskQueue(ctx context.Context, r *rpcpb.PollWorkflowTaskQueueRequest) (*workflowservice.PollWorkflowTaskQueueResponse, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetRequest().GetTaskQueue().GetName(), false, r.GetPartition()); err != nil {
		return nil, ToStatus(err)
	}
	poll := s.local.PollWorkflowTaskQueue
	if r.GetForwarded() {
		ft, err := s.forwardTarget()
		if err != nil {
			return nil, err
		}
		poll = ft.PollWorkflowTaskQueueForwarded
	}
	resp, err := poll(ctx, r.GetNamespaceId(), r.GetRequest())
	if err != nil {
		return nil, ToStatus(err)
	}
	if resp == nil {
		resp = &workflowservice.PollWorkflowTaskQueueResponse{}
	}
	return resp, nil
}

func (s *MatchingServer) PollActivityTaskQueue(ctx context.Context, r *rpcpb.PollActivityTaskQueueRequest) (*workflowservice.PollActivityTaskQueueResponse, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetRequest().GetTaskQueue().GetName(), true, r.GetPartition()); err != nil {
		return nil, ToStatus(err)
	}
	poll := s.local.PollActivityTaskQueue
	if r.GetForwarded() {
		ft, err := s.forwardTarget()
		if err != nil {
			return nil, err
		}
		poll = ft.PollActivityTaskQueueForwarded
	}
	resp, err := poll(ctx, r.GetNamespaceId(), r.GetRequest())
	if err != nil {
		return nil, ToStatus(err)
	}
	if resp == nil {
		resp = &workflowservice.PollActivityTaskQueueResponse{}
	}
	return resp, nil
}

func (s *MatchingServer) RespondQueryTaskCompleted(ctx context.Context, r *rpcpb.RespondQueryTaskCompletedRequest) (*rpcpb.Empty, error) {
	if err := s.local.RespondQueryTaskCompleted(ctx, r.GetNamespaceId(), r.GetRequest()); err != nil {
		return nil, ToStatus(err)
	}
	return &rpcpb.Empty{}, nil
}

func (s *MatchingServer) ShutdownSticky(ctx context.Context, r *rpcpb.ShutdownStickyRequest) (*rpcpb.ShutdownStickyResponse, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetStickyQueue(), false, 0); err != nil {
		return nil, ToStatus(err)
	}
	tasks, err := s.local.ShutdownSticky(ctx, r.GetNamespaceId(), r.GetStickyQueue())
	resp := &rpcpb.ShutdownStickyResponse{}
	for _, t := range tasks {
		resp.Tasks = append(resp.Tasks, &rpcpb.StickyTask{WorkflowId: t.WorkflowID, RunId: t.RunID, ScheduledEventId: t.ScheduledEventID})
	}
	if err != nil {
		return nil, ToStatus(err) // as in process, the frontend drops the tasks with the error
	}
	return resp, nil
}

func (s *MatchingServer) DescribeTaskQueue(ctx context.Context, r *rpcpb.DescribeTaskQueueRequest) (*rpcpb.DescribeTaskQueueResponse, error) {
	if err := s.owns(r.GetNamespaceId(), r.GetName(), r.GetActivity(), r.GetPartition()); err != nil {
		return nil, ToStatus(err)
	}
	d, err := s.local.DescribeTaskQueue(ctx, matching.DescribeRequest{NamespaceID: r.GetNamespaceId(), Name: r.GetName(),
		Activity: r.GetActivity(), Sticky: r.GetSticky(), Partition: r.GetPartition()})
	if err != nil {
		return nil, ToStatus(err)
	}
	return descriptionPB(d), nil
}

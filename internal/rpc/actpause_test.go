package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	activitypb "go.temporal.io/api/activity/v1"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/history"
	"github.com/sundialhq/sundial/internal/membership"
	"github.com/sundialhq/sundial/internal/rpc/rpcpb"
	"github.com/sundialhq/sundial/internal/tasktoken"
)

// actHistory records the operator calls it receives.
type actHistory struct {
	HistoryRole
	calls []any
}

func (h *actHistory) PauseActivity(_ context.Context, _ string, _ *commonpb.WorkflowExecution, in history.PauseActivityInput) error {
	h.calls = append(h.calls, in)
	return nil
}

func (h *actHistory) UnpauseActivity(_ context.Context, _ string, _ *commonpb.WorkflowExecution, in history.UnpauseActivityInput) error {
	h.calls = append(h.calls, in)
	return history.ErrActivityNotFound
}

func (h *actHistory) ResetActivity(_ context.Context, _ string, _ *commonpb.WorkflowExecution, in history.ResetActivityInput) error {
	h.calls = append(h.calls, in)
	return &history.InvalidArgumentError{Msg: "bad reset"}
}

func (h *actHistory) UpdateActivityOptions(_ context.Context, _ string, _ *commonpb.WorkflowExecution, in history.UpdateActivityOptionsInput) (*activitypb.ActivityOptions, error) {
	h.calls = append(h.calls, in)
	return in.Options, nil
}

func (h *actHistory) UpdateWorkflowPriority(_ context.Context, _ string, _ *commonpb.WorkflowExecution, upd *commonpb.Priority, paths []string, identity string) (*commonpb.Priority, error) {
	h.calls = append(h.calls, identity)
	return upd, nil
}

func (h *actHistory) RecordActivityTaskHeartbeat(context.Context, *tasktoken.Token, *commonpb.Payloads, string) (history.HeartbeatAnswer, error) {
	return history.HeartbeatAnswer{Paused: true, Reset: true}, nil
}

// The activity operator calls and the heartbeat's answer cross the wire
// field for field, errors included.
func TestActivityOperatorCallsCrossIntact(t *testing.T) {
	lis := listen(t)
	addr := lis.Addr().String()
	fake := &actHistory{}
	members := []membership.Member{{Identity: "history@" + addr, Role: membership.RoleHistory, RPCAddress: addr}}
	g := grpc.NewServer()
	rpcpb.RegisterHistoryServiceServer(g, NewHistoryServer(NewStaticRing(members, map[string]string{membership.RoleHistory: addr}), testShards, fake))
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conns := NewConns(nil)
	t.Cleanup(conns.Close)
	c := NewHistoryClient(NewStaticRing(members, nil), conns, testShards, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exec := &commonpb.WorkflowExecution{WorkflowId: "wf", RunId: "run"}
	sel := history.ActivitySelector{ID: "a1", Type: "T", All: true}

	pause := history.PauseActivityInput{Selector: sel, Identity: "me", Reason: "why"}
	if err := c.PauseActivity(ctx, "ns", exec, pause); err != nil {
		t.Fatal(err)
	}
	unpause := history.UnpauseActivityInput{Selector: sel, ResetAttempts: true, ResetHeartbeat: true, Delay: 3 * time.Second}
	if err := c.UnpauseActivity(ctx, "ns", exec, unpause); !errors.Is(err, history.ErrActivityNotFound) {
		t.Errorf("UnpauseActivity = %v, want ErrActivityNotFound", err)
	}
	reset := history.ResetActivityInput{Selector: sel, ResetHeartbeat: true, KeepPaused: true, RestoreOriginal: true, Delay: time.Second}
	var invalid *history.InvalidArgumentError
	if err := c.ResetActivity(ctx, "ns", exec, reset); !errors.As(err, &invalid) || invalid.Msg != "bad reset" {
		t.Errorf("ResetActivity = %v, want InvalidArgumentError", err)
	}
	opts := history.UpdateActivityOptionsInput{Selector: sel, Paths: []string{"task_queue_name"}, RestoreOriginal: true,
		Options: &activitypb.ActivityOptions{StartToCloseTimeout: durationpb.New(time.Minute)}}
	got, err := c.UpdateActivityOptions(ctx, "ns", exec, opts)
	if err != nil || !proto.Equal(got, opts.Options) {
		t.Errorf("UpdateActivityOptions = %v, %v", got, err)
	}
	prio := &commonpb.Priority{PriorityKey: 3}
	if p, err := c.UpdateWorkflowPriority(ctx, "ns", exec, prio, []string{"priority.priority_key"}, "op"); err != nil || !proto.Equal(p, prio) {
		t.Errorf("UpdateWorkflowPriority = %v, %v", p, err)
	}
	ans, err := c.RecordActivityTaskHeartbeat(ctx, &tasktoken.Token{NamespaceID: "ns", WorkflowID: "wf"}, nil, "w")
	if err != nil || ans != (history.HeartbeatAnswer{Paused: true, Reset: true}) {
		t.Errorf("RecordActivityTaskHeartbeat = %+v, %v", ans, err)
	}

	if len(fake.calls) != 5 {
		t.Fatalf("calls = %v", fake.calls)
	}
	if p := fake.calls[0].(history.PauseActivityInput); p != pause {
		t.Errorf("pause input %+v, want %+v", p, pause)
	}
	if u := fake.calls[1].(history.UnpauseActivityInput); u != unpause {
		t.Errorf("unpause input %+v, want %+v", u, unpause)
	}
	if r := fake.calls[2].(history.ResetActivityInput); r != reset {
		t.Errorf("reset input %+v, want %+v", r, reset)
	}
	if o := fake.calls[3].(history.UpdateActivityOptionsInput); o.Selector != sel || !o.RestoreOriginal ||
		len(o.Paths) != 1 || !proto.Equal(o.Options, opts.Options) {
		t.Errorf("options input %+v", o)
	}
	if fake.calls[4] != "op" {
		t.Errorf("priority identity %v", fake.calls[4])
	}
}

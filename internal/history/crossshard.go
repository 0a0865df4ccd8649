package history

import (
	"context"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	sm "github.com/sundialhq/sundial/internal/history/statemachine"
	"github.com/sundialhq/sundial/internal/persistence"
)

// CrossShard is what one workflow's outbox asks of another workflow, which
// may live on a shard of another history host: start a child, tell a
// parent its child closed, apply a parent close policy, deliver an
// external signal or cancel request. The Engine implements it for the
// workflows of its own shards; across hosts a client routes each call to
// the target's shard owner (internal/rpc). Each method acts on the target
// workflow only.
type CrossShard interface {
	StartChild(ctx context.Context, req *ChildStartRequest) (*workflowservice.StartWorkflowExecutionResponse, error)
	RecordChildClosed(ctx context.Context, req *ChildClosedRequest) error
	ApplyParentClosePolicy(ctx context.Context, req *ParentCloseRequest) error
	SignalExternal(ctx context.Context, req *ExternalSignalRequest) error
	CancelExternal(ctx context.Context, req *ExternalCancelRequest) error
}

// ChildStartRequest starts a child (in NamespaceID) for Parent.
type ChildStartRequest struct {
	NamespaceID    string
	Request        *workflowservice.StartWorkflowExecutionRequest
	Parent         *sm.ParentInfo
	RootWorkflowID string
	RootRunID      string
}

// ChildClosedRequest records in the parent run that its child closed with
// CloseEvent.
type ChildClosedRequest struct {
	Parent           persistence.WorkflowKey
	InitiatedEventID int64
	ChildNamespaceID string
	ChildFirstRunID  string
	CloseEvent       *historypb.HistoryEvent
}

// ParentCloseRequest terminates or cancels the current run of Child if it
// is still the child of Parent.
type ParentCloseRequest struct {
	Parent persistence.WorkflowKey
	Child  persistence.WorkflowKey // RunID unused: the current run
	Policy enumspb.ParentClosePolicy
}

// ExternalSignalRequest signals Execution (in NamespaceID) on behalf of
// Source; ChildOnly requires the target to be Source's child.
type ExternalSignalRequest struct {
	Source      persistence.WorkflowKey
	NamespaceID string
	Execution   *commonpb.WorkflowExecution
	ChildOnly   bool
	Signal      sm.SignalInput
}

// ExternalCancelRequest asks Execution (in NamespaceID) to cancel on
// behalf of Source.
type ExternalCancelRequest struct {
	Source      persistence.WorkflowKey
	NamespaceID string
	Execution   *commonpb.WorkflowExecution
	ChildOnly   bool
	RequestID   string
	Reason      string
}

// crossShard holds the CrossShard an engine uses (itself by default).
type crossShard struct{ v atomic.Pointer[CrossShard] }

// SetCrossShard makes the engine reach other workflows through c (a
// client that calls this engine for its own shards). Call before Start.
func (e *Engine) SetCrossShard(c CrossShard) { e.xs.v.Store(&c) }

func (e *Engine) cross() CrossShard {
	if c := e.xs.v.Load(); c != nil {
		return *c
	}
	return e
}

var _ CrossShard = (*Engine)(nil)

// StartChild starts the child run.
func (e *Engine) StartChild(ctx context.Context, req *ChildStartRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return e.start(ctx, sm.StartInput{NamespaceID: req.NamespaceID, Request: req.Request, Parent: req.Parent,
		RootWorkflowID: req.RootWorkflowID, RootRunID: req.RootRunID})
}

// RecordChildClosed records the child's close in the parent.
func (e *Engine) RecordChildClosed(ctx context.Context, req *ChildClosedRequest) error {
	return e.update(ctx, req.Parent, func(st *sm.State, now time.Time) (sm.Output, error) {
		return sm.ChildClosed(st, req.InitiatedEventID, req.ChildNamespaceID, req.ChildFirstRunID, req.CloseEvent, now)
	})
}

// ApplyParentClosePolicy terminates or cancels the child's current run if
// it still belongs to the parent.
func (e *Engine) ApplyParentClosePolicy(ctx context.Context, req *ParentCloseRequest) error {
	key := req.Parent
	return e.updateRun(ctx, req.Child.NamespaceID, &commonpb.WorkflowExecution{WorkflowId: req.Child.WorkflowID},
		func(st *sm.State, now time.Time) (sm.Output, error) {
			p := st.Execution.Parent
			if p == nil || p.WorkflowID != key.WorkflowID || p.RunID != key.RunID {
				return sm.Output{NoChange: true}, nil
			}
			if req.Policy == enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL {
				return sm.RequestCancel(st, crossRequestID(key, 0), "parent close policy", "sundial", now)
			}
			return sm.Terminate(st, "by parent close policy", nil, "sundial", now)
		})
}

// SignalExternal signals the target run.
func (e *Engine) SignalExternal(ctx context.Context, req *ExternalSignalRequest) error {
	return e.updateRun(ctx, req.NamespaceID, req.Execution, func(st *sm.State, now time.Time) (sm.Output, error) {
		if req.ChildOnly && !childOf(st, req.Source) {
			return sm.Output{}, sm.ErrClosed
		}
		return sm.Signal(st, req.Signal, e.limits(), now)
	})
}

// CancelExternal requests cancellation of the target run.
func (e *Engine) CancelExternal(ctx context.Context, req *ExternalCancelRequest) error {
	return e.updateRun(ctx, req.NamespaceID, req.Execution, func(st *sm.State, now time.Time) (sm.Output, error) {
		if req.ChildOnly && !childOf(st, req.Source) {
			return sm.Output{}, sm.ErrClosed
		}
		return sm.RequestCancel(st, req.RequestID, req.Reason, "", now)
	})
}

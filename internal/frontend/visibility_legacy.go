package frontend

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	filterpb "go.temporal.io/api/filter/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

// The pre-query list APIs, expressed as queries.

func columnPredicate(c searchattr.Column, op query.Op, vals ...searchattr.Value) *query.Predicate {
	return &query.Predicate{Attr: searchattr.ColumnAttribute(c), Op: op, Values: vals}
}

func and(exprs ...query.Expr) query.Expr {
	var out query.Expr
	for _, e := range exprs {
		switch {
		case e == nil:
		case out == nil:
			out = e
		default:
			out = &query.And{Left: out, Right: e}
		}
	}
	return out
}

// timeRange filters column c by a StartTimeFilter; nil without bounds.
func timeRange(c searchattr.Column, f *filterpb.StartTimeFilter) query.Expr {
	var lo, hi query.Expr
	if f.GetEarliestTime() != nil {
		lo = columnPredicate(c, query.OpGe, searchattr.TimeValue(f.GetEarliestTime().AsTime()))
	}
	if f.GetLatestTime() != nil {
		hi = columnPredicate(c, query.OpLe, searchattr.TimeValue(f.GetLatestTime().AsTime()))
	}
	return and(lo, hi)
}

func executionFilter(f *filterpb.WorkflowExecutionFilter) query.Expr {
	var run query.Expr
	if f.GetRunId() != "" {
		run = columnPredicate(searchattr.ColumnRunID, query.OpEq, searchattr.StringValue(f.GetRunId()))
	}
	return and(columnPredicate(searchattr.ColumnWorkflowID, query.OpEq, searchattr.StringValue(f.GetWorkflowId())), run)
}

func typeFilter(f *filterpb.WorkflowTypeFilter) query.Expr {
	return columnPredicate(searchattr.ColumnWorkflowType, query.OpEq, searchattr.StringValue(f.GetName()))
}

func statusValue(s enumspb.WorkflowExecutionStatus) searchattr.Value {
	return searchattr.IntValue(int64(s))
}

// ListOpenWorkflowExecutions lists running workflows, newest start first;
// the time filter applies to StartTime.
func (h *Handler) ListOpenWorkflowExecutions(ctx context.Context, req *workflowservice.ListOpenWorkflowExecutionsRequest) (*workflowservice.ListOpenWorkflowExecutionsResponse, error) {
	ns, err := h.visibilityNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	size, err := h.visibilityPageSize(req.GetMaximumPageSize())
	if err != nil {
		return nil, err
	}
	var filter query.Expr
	switch f := req.GetFilters().(type) {
	case *workflowservice.ListOpenWorkflowExecutionsRequest_ExecutionFilter:
		filter = executionFilter(f.ExecutionFilter)
	case *workflowservice.ListOpenWorkflowExecutionsRequest_TypeFilter:
		filter = typeFilter(f.TypeFilter)
	}
	q := &query.Query{
		Filter: and(columnPredicate(searchattr.ColumnExecutionStatus, query.OpEq, statusValue(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)),
			timeRange(searchattr.ColumnStartTime, req.GetStartTimeFilter()), filter),
		OrderBy: []query.Order{{Attr: searchattr.ColumnAttribute(searchattr.ColumnStartTime), Desc: true}},
	}
	infos, token, err := h.listPage(ctx, ns, q, size, req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListOpenWorkflowExecutionsResponse{Executions: infos, NextPageToken: token}, nil
}

// ListClosedWorkflowExecutions lists closed workflows, latest close first;
// as on the reference server, the time filter applies to CloseTime.
func (h *Handler) ListClosedWorkflowExecutions(ctx context.Context, req *workflowservice.ListClosedWorkflowExecutionsRequest) (*workflowservice.ListClosedWorkflowExecutionsResponse, error) {
	ns, err := h.visibilityNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	size, err := h.visibilityPageSize(req.GetMaximumPageSize())
	if err != nil {
		return nil, err
	}
	var filter query.Expr
	switch f := req.GetFilters().(type) {
	case *workflowservice.ListClosedWorkflowExecutionsRequest_ExecutionFilter:
		filter = executionFilter(f.ExecutionFilter)
	case *workflowservice.ListClosedWorkflowExecutionsRequest_TypeFilter:
		filter = typeFilter(f.TypeFilter)
	case *workflowservice.ListClosedWorkflowExecutionsRequest_StatusFilter:
		filter = columnPredicate(searchattr.ColumnExecutionStatus, query.OpEq, statusValue(f.StatusFilter.GetStatus()))
	}
	q := &query.Query{
		Filter: and(&query.Not{X: columnPredicate(searchattr.ColumnCloseTime, query.OpIsNull)},
			timeRange(searchattr.ColumnCloseTime, req.GetStartTimeFilter()), filter),
		OrderBy: []query.Order{{Attr: searchattr.ColumnAttribute(searchattr.ColumnCloseTime), Desc: true}},
	}
	infos, token, err := h.listPage(ctx, ns, q, size, req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListClosedWorkflowExecutionsResponse{Executions: infos, NextPageToken: token}, nil
}

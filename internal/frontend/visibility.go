package frontend

import (
	"context"
	"errors"
	"fmt"
	"maps"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sundialhq/sundial/internal/namespace"
	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/visibility/query"
	"github.com/sundialhq/sundial/internal/visibility/searchattr"
)

const (
	keyVisibilityMaxPageSize     = "frontend.visibilityMaxPageSize"
	defaultVisibilityMaxPageSize = 1000
)

var (
	errVisibilityNotConfigured = serviceerror.NewUnimplemented("Visibility is not configured on this server.")
	errInvalidVisibilityToken  = serviceerror.NewInvalidArgument("Invalid NextPageToken.")
	errGroupByInList           = serviceerror.NewInvalidArgument("invalid query: GROUP BY is only supported by CountWorkflowExecutions")
)

// visibilityNamespace resolves the namespace of a visibility request.
func (h *Handler) visibilityNamespace(ctx context.Context, name string) (*namespace.Namespace, error) {
	if h.opts.Visibility == nil || h.opts.SearchAttributes == nil {
		return nil, errVisibilityNotConfigured
	}
	return h.namespaceByName(ctx, name)
}

// visibilityPageSize applies frontend.visibilityMaxPageSize: zero or less
// means the maximum, more than it is InvalidArgument.
func (h *Handler) visibilityPageSize(size int32) (int, error) {
	maxSize := h.opts.Dynamic.Int(keyVisibilityMaxPageSize, defaultVisibilityMaxPageSize)
	if size <= 0 {
		return maxSize, nil
	}
	if int(size) > maxSize {
		return 0, serviceerror.NewInvalidArgument(fmt.Sprintf("PageSize is larger than allowed %d.", maxSize))
	}
	return int(size), nil
}

// parseQuery parses a list filter; a bad query is InvalidArgument with the
// position and what was expected.
func (h *Handler) parseQuery(ctx context.Context, namespaceID, text string) (*query.Query, error) {
	q, err := h.opts.SearchAttributes.Parse(ctx, namespaceID, text)
	var qe *query.Error
	if errors.As(err, &qe) {
		return nil, serviceerror.NewInvalidArgument(qe.Error())
	}
	return q, err
}

// listPage lists one page and converts it to the API's shape.
func (h *Handler) listPage(ctx context.Context, ns *namespace.Namespace, q *query.Query, size int, token []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	resp, err := h.opts.Visibility.ListVisibility(ctx, &persistence.ListVisibilityRequest{
		NamespaceID: ns.ID, Query: q, PageSize: size, NextPageToken: token,
	})
	if errors.Is(err, persistence.ErrInvalidPageToken) {
		return nil, nil, errInvalidVisibilityToken
	}
	if err != nil {
		return nil, nil, err
	}
	lookup, err := h.opts.SearchAttributes.Lookup(ctx, ns.ID)
	if err != nil {
		return nil, nil, err
	}
	infos := make([]*workflowpb.WorkflowExecutionInfo, len(resp.Records))
	for i, r := range resp.Records {
		infos[i] = executionInfo(r, lookup)
	}
	return infos, resp.NextPageToken, nil
}

// ListWorkflowExecutions lists the runs matching a list filter, one page at
// a time.
func (h *Handler) ListWorkflowExecutions(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	infos, token, err := h.listQuery(ctx, req.GetNamespace(), req.GetPageSize(), req.GetQuery(), req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: infos, NextPageToken: token}, nil
}

// ScanWorkflowExecutions is ListWorkflowExecutions: keyset paging already
// makes a full listing cheap and stable, so scans need no other path.
func (h *Handler) ScanWorkflowExecutions(ctx context.Context, req *workflowservice.ScanWorkflowExecutionsRequest) (*workflowservice.ScanWorkflowExecutionsResponse, error) {
	infos, token, err := h.listQuery(ctx, req.GetNamespace(), req.GetPageSize(), req.GetQuery(), req.GetNextPageToken())
	if err != nil {
		return nil, err
	}
	return &workflowservice.ScanWorkflowExecutionsResponse{Executions: infos, NextPageToken: token}, nil
}

func (h *Handler) listQuery(ctx context.Context, nsName string, pageSize int32, text string, token []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	ns, err := h.visibilityNamespace(ctx, nsName)
	if err != nil {
		return nil, nil, err
	}
	size, err := h.visibilityPageSize(pageSize)
	if err != nil {
		return nil, nil, err
	}
	q, err := h.parseQuery(ctx, ns.ID, text)
	if err != nil {
		return nil, nil, err
	}
	if len(q.GroupBy) > 0 {
		return nil, nil, errGroupByInList
	}
	return h.listPage(ctx, ns, q, size, token)
}

// CountWorkflowExecutions counts the runs matching a list filter, grouped
// by ExecutionStatus when the query says GROUP BY ExecutionStatus. The
// counts are exact.
func (h *Handler) CountWorkflowExecutions(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	ns, err := h.visibilityNamespace(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	q, err := h.parseQuery(ctx, ns.ID, req.GetQuery())
	if err != nil {
		return nil, err
	}
	c, err := h.opts.Visibility.CountVisibility(ctx, ns.ID, q)
	if err != nil {
		return nil, err
	}
	resp := &workflowservice.CountWorkflowExecutionsResponse{Count: c.Count}
	for _, g := range c.Groups {
		resp.Groups = append(resp.Groups, &workflowservice.CountWorkflowExecutionsResponse_AggregationGroup{
			GroupValues: []*commonpb.Payload{jsonPayload(fmt.Sprintf("%q", g.Status.String()))},
			Count:       g.Count,
		})
	}
	return resp, nil
}

// jsonPayload wraps JSON text as a json/plain payload.
func jsonPayload(json string) *commonpb.Payload {
	return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(json)}
}

// GetSearchAttributes returns every search attribute a workflow may use:
// the system and predefined ones, plus the custom ones of the namespace
// named in the call's temporal-namespace header or, since the request has
// no namespace field and SDKs send no header with it, of "default".
func (h *Handler) GetSearchAttributes(ctx context.Context, _ *workflowservice.GetSearchAttributesRequest) (*workflowservice.GetSearchAttributesResponse, error) {
	if h.opts.SearchAttributes == nil {
		return nil, errVisibilityNotConfigured
	}
	keys := searchattr.SystemTypes()
	name := defaultNamespaceName
	md, _ := metadata.FromIncomingContext(ctx)
	if names := md.Get("temporal-namespace"); len(names) > 0 && names[0] != "" {
		name = names[0]
	}
	ns, err := h.ns.GetByName(ctx, name)
	if errors.Is(err, namespace.ErrNotFound) {
		return &workflowservice.GetSearchAttributesResponse{Keys: keys}, nil
	}
	if err != nil {
		return nil, err
	}
	custom, err := h.opts.SearchAttributes.Custom(ctx, ns.ID)
	if err != nil {
		return nil, err
	}
	maps.Copy(keys, custom)
	return &workflowservice.GetSearchAttributesResponse{Keys: keys}, nil
}

// defaultNamespaceName is the namespace every server has.
const defaultNamespaceName = "default"

// executionInfo converts a record. Search attribute payloads get the
// "type" metadata the SDKs use to decode typed search attributes.
func executionInfo(r *persistence.VisibilityRecord, lookup searchattr.Lookup) *workflowpb.WorkflowExecutionInfo {
	info := &workflowpb.WorkflowExecutionInfo{
		Execution:            &commonpb.WorkflowExecution{WorkflowId: r.WorkflowID, RunId: r.RunID},
		Type:                 &commonpb.WorkflowType{Name: r.WorkflowType},
		StartTime:            timestamppb.New(r.StartTime),
		Status:               r.Status,
		HistoryLength:        r.HistoryLength,
		ExecutionTime:        timestamppb.New(r.ExecutionTime),
		Memo:                 r.Memo,
		SearchAttributes:     typedSearchAttributes(r.SearchAttributes, lookup),
		TaskQueue:            r.TaskQueue,
		StateTransitionCount: r.StateTransitionCount,
		HistorySizeBytes:     r.HistorySizeBytes,
	}
	if !r.CloseTime.IsZero() {
		info.CloseTime = timestamppb.New(r.CloseTime)
		from := r.ExecutionTime
		if from.IsZero() {
			from = r.StartTime
		}
		info.ExecutionDuration = durationpb.New(max(0, r.CloseTime.Sub(from)))
	}
	if r.ParentWorkflowID != "" {
		info.ParentExecution = &commonpb.WorkflowExecution{WorkflowId: r.ParentWorkflowID, RunId: r.ParentRunID}
	}
	if r.RootWorkflowID != "" {
		info.RootExecution = &commonpb.WorkflowExecution{WorkflowId: r.RootWorkflowID, RunId: r.RootRunID}
	}
	// Empty messages, never nil, as DescribeWorkflowExecution answers.
	if info.Memo == nil {
		info.Memo = &commonpb.Memo{}
	}
	if info.SearchAttributes == nil {
		info.SearchAttributes = &commonpb.SearchAttributes{}
	}
	return info
}

func typedSearchAttributes(sa *commonpb.SearchAttributes, lookup searchattr.Lookup) *commonpb.SearchAttributes {
	if len(sa.GetIndexedFields()) == 0 {
		return nil
	}
	out := &commonpb.SearchAttributes{IndexedFields: make(map[string]*commonpb.Payload, len(sa.GetIndexedFields()))}
	for name, p := range sa.GetIndexedFields() {
		a, ok := lookup(name)
		if ok && p != nil && len(p.GetMetadata()["type"]) == 0 {
			p = proto.Clone(p).(*commonpb.Payload)
			if p.Metadata == nil {
				p.Metadata = map[string][]byte{}
			}
			p.Metadata["type"] = []byte(searchattr.TypeName(a.Type))
		}
		out.IndexedFields[name] = p
	}
	return out
}

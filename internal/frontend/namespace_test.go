package frontend

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const oneDay = 24 * time.Hour

func registerReq(name string, retention time.Duration) *workflowservice.RegisterNamespaceRequest {
	return &workflowservice.RegisterNamespaceRequest{Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(retention)}
}

func TestRegisterNamespaceValidation(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	withRetention := func(d *durationpb.Duration) *workflowservice.RegisterNamespaceRequest {
		return &workflowservice.RegisterNamespaceRequest{Namespace: "n", WorkflowExecutionRetentionPeriod: d}
	}
	const badRetention = "A valid retention period is not set on request."
	for _, c := range []struct {
		name string
		req  *workflowservice.RegisterNamespaceRequest
		code codes.Code
		msg  string
	}{
		{"empty name", registerReq("", oneDay), codes.InvalidArgument, "Namespace not set on request."},
		{"long name", registerReq(strings.Repeat("n", 1001), oneDay), codes.InvalidArgument, "Namespace length exceeds limit."},
		{"duplicate", registerReq("default", oneDay), codes.AlreadyExists, `Namespace "default" already exists`},
		{"no retention", withRetention(nil), codes.InvalidArgument, badRetention},
		{"one hour", registerReq("n", time.Hour), codes.InvalidArgument, badRetention},
		{"just under a oneDay", registerReq("n", oneDay-time.Second), codes.InvalidArgument, badRetention},
		{"negative", registerReq("n", -oneDay), codes.InvalidArgument, badRetention},
		{"malformed", withRetention(&durationpb.Duration{Seconds: 1, Nanos: -1}), codes.InvalidArgument, badRetention},
		{"global", &workflowservice.RegisterNamespaceRequest{Namespace: "n", IsGlobalNamespace: true,
			WorkflowExecutionRetentionPeriod: durationpb.New(oneDay)}, codes.InvalidArgument, "Cannot register global namespace when not enabled"},
		{"other cluster", &workflowservice.RegisterNamespaceRequest{Namespace: "n", ActiveClusterName: "east",
			WorkflowExecutionRetentionPeriod: durationpb.New(oneDay)}, codes.InvalidArgument, "Invalid cluster name: east (the only cluster is active)."},
		{"other replica", &workflowservice.RegisterNamespaceRequest{Namespace: "n",
			Clusters:                         []*replicationpb.ClusterReplicationConfig{{ClusterName: "active"}, {ClusterName: "west"}},
			WorkflowExecutionRetentionPeriod: durationpb.New(oneDay)}, codes.InvalidArgument, "Invalid cluster name: west (the only cluster is active)."},
	} {
		_, err := env.h.RegisterNamespace(ctx, c.req)
		if st := wire(err); st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	if _, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "n"}); wire(err).Code() != codes.NotFound {
		t.Fatalf("a refused registration left namespace n behind: %v", err)
	}
}

func TestRegisterThenDescribe(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	_, err := env.h.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "orders", Description: "d", OwnerEmail: "o@x.y", Data: map[string]string{"k": "v"},
		WorkflowExecutionRetentionPeriod: durationpb.New(200 * 365 * oneDay), // capped, not refused
		Clusters:                         []*replicationpb.ClusterReplicationConfig{{ClusterName: "active"}},
		HistoryArchivalState:             enumspb.ARCHIVAL_STATE_ENABLED, // ignored: no archival
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	info, cfg := d.GetNamespaceInfo(), d.GetConfig()
	if info.GetDescription() != "d" || info.GetOwnerEmail() != "o@x.y" || info.GetData()["k"] != "v" ||
		info.GetState() != enumspb.NAMESPACE_STATE_REGISTERED || info.GetLimits().GetMemoSizeLimitError() != 2<<20 ||
		cfg.GetWorkflowExecutionRetentionTtl().AsDuration() != maxNamespaceRetention ||
		cfg.GetHistoryArchivalState() != enumspb.ARCHIVAL_STATE_DISABLED || d.GetIsGlobalNamespace() {
		t.Fatalf("describe = %v", d)
	}
}

func TestMinRetentionIsDynamic(t *testing.T) {
	env := newTestEnv(t)
	env.h.opts.Dynamic.Set(keyNamespaceMinRetention, "1h")
	ctx := context.Background()
	if _, err := env.h.RegisterNamespace(ctx, registerReq("short", time.Hour)); err != nil {
		t.Fatalf("1h retention with a 1h minimum: %v", err)
	}
	// With the minimum back at a day, an update that resends the current
	// retention (as the CLI does) still works; a new short one does not.
	env.h.opts.Dynamic.Set(keyNamespaceMinRetention, "24h")
	resend := &workflowservice.UpdateNamespaceRequest{Namespace: "short",
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "d"},
		Config:     &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(time.Hour)}}
	if _, err := env.h.UpdateNamespace(ctx, resend); err != nil {
		t.Fatalf("update resending the current retention: %v", err)
	}
	resend.Config.WorkflowExecutionRetentionTtl = durationpb.New(2 * time.Hour)
	if _, err := env.h.UpdateNamespace(ctx, resend); wire(err).Code() != codes.InvalidArgument {
		t.Fatalf("update to 2h under a 1-day minimum: %v", err)
	}
}

func TestUpdateNamespace(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	if _, err := env.h.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "orders",
		Description: "old", Data: map[string]string{"a": "1", "b": "2"}, WorkflowExecutionRetentionPeriod: durationpb.New(oneDay)}); err != nil {
		t.Fatal(err)
	}
	resp, err := env.h.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace:  "orders",
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{OwnerEmail: "new@x.y", Data: map[string]string{"b": "20", "c": "3"}},
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(7 * oneDay),
			VisibilityArchivalState: enumspb.ARCHIVAL_STATE_ENABLED},
		ReplicationConfig: &replicationpb.NamespaceReplicationConfig{ActiveClusterName: "active"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	for what, info := range map[string]*namespacepb.NamespaceInfo{"response": resp.GetNamespaceInfo(), "describe": d.GetNamespaceInfo()} {
		data := info.GetData()
		if info.GetDescription() != "old" || info.GetOwnerEmail() != "new@x.y" || len(data) != 3 ||
			data["a"] != "1" || data["b"] != "20" || data["c"] != "3" || info.GetLimits() == nil {
			t.Errorf("%s info = %v", what, info)
		}
	}
	if got := d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 7*oneDay ||
		resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != 7*oneDay {
		t.Errorf("retention: describe %v, response %v", got, resp.GetConfig().GetWorkflowExecutionRetentionTtl())
	}
}

func TestUpdateNamespaceValidation(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	req := func(mod func(*workflowservice.UpdateNamespaceRequest)) *workflowservice.UpdateNamespaceRequest {
		r := &workflowservice.UpdateNamespaceRequest{Namespace: "default"}
		mod(r)
		return r
	}
	for _, c := range []struct {
		name string
		req  *workflowservice.UpdateNamespaceRequest
		code codes.Code
		msg  string
	}{
		{"no namespace", &workflowservice.UpdateNamespaceRequest{}, codes.InvalidArgument, "Namespace not set on request."},
		{"unknown", &workflowservice.UpdateNamespaceRequest{Namespace: "nope"}, codes.NotFound, "Namespace nope is not found."},
		{"short retention", req(func(r *workflowservice.UpdateNamespaceRequest) {
			r.Config = &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(time.Minute)}
		}), codes.InvalidArgument, "A valid retention period is not set on request."},
		{"state", req(func(r *workflowservice.UpdateNamespaceRequest) {
			r.UpdateInfo = &namespacepb.UpdateNamespaceInfo{State: enumspb.NAMESPACE_STATE_DEPRECATED}
		}), codes.Unimplemented, "Namespace state changes are not supported yet."},
		{"promote", req(func(r *workflowservice.UpdateNamespaceRequest) { r.PromoteNamespace = true }), codes.InvalidArgument,
			"global namespace is not enabled on this cluster, cannot update global namespace or promote local namespace: default"},
		{"bad binaries", req(func(r *workflowservice.UpdateNamespaceRequest) {
			r.Config = &namespacepb.NamespaceConfig{BadBinaries: &namespacepb.BadBinaries{
				Binaries: map[string]*namespacepb.BadBinaryInfo{"x": {}}}}
		}), codes.Unimplemented, "Bad binaries are not supported; use worker versioning."},
		{"delete bad binary", req(func(r *workflowservice.UpdateNamespaceRequest) { r.DeleteBadBinary = "abc" }),
			codes.InvalidArgument, "Bad binary checksum abc doesn't exists."},
		{"failover", req(func(r *workflowservice.UpdateNamespaceRequest) {
			r.ReplicationConfig = &replicationpb.NamespaceReplicationConfig{ActiveClusterName: "east"}
		}), codes.InvalidArgument, "Invalid cluster name: east (the only cluster is active)."},
		{"handover", req(func(r *workflowservice.UpdateNamespaceRequest) {
			r.ReplicationConfig = &replicationpb.NamespaceReplicationConfig{State: enumspb.REPLICATION_STATE_HANDOVER}
		}), codes.InvalidArgument, "Replication state can only be NORMAL: namespaces are local to this cluster."},
	} {
		_, err := env.h.UpdateNamespace(ctx, c.req)
		if st := wire(err); st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	d, _ := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	if d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != oneDay || d.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_REGISTERED {
		t.Fatalf("a refused update changed the namespace: %v", d)
	}
}

// TestListNamespacesPagingIsStable pages with size 2 while namespaces are
// registered between pages: none is listed twice and none that existed
// at the start is missed.
func TestListNamespacesPagingIsStable(t *testing.T) {
	env := newTestEnv(t) // has "default" and "other"
	ctx := context.Background()
	for i := range 5 {
		if _, err := env.h.RegisterNamespace(ctx, registerReq(fmt.Sprintf("ns-%d", i), oneDay)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	var token []byte
	for page := 0; ; page++ {
		resp, err := env.h.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{PageSize: 2, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetNamespaces()) > 2 {
			t.Fatalf("page %d has %d namespaces", page, len(resp.GetNamespaces()))
		}
		for _, ns := range resp.GetNamespaces() {
			seen[ns.GetNamespaceInfo().GetName()]++
		}
		if page == 1 { // one sorting before the cursor, one after
			for _, n := range []string{"aaa", "zzz"} {
				if _, err := env.h.RegisterNamespace(ctx, registerReq(n, oneDay)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	for _, n := range []string{"default", "other", "ns-0", "ns-1", "ns-2", "ns-3", "ns-4", "zzz"} {
		if seen[n] != 1 {
			t.Errorf("namespace %s listed %d times, want once", n, seen[n])
		}
	}
	if seen["aaa"] != 0 {
		t.Errorf("aaa (registered behind the cursor) listed %d times", seen["aaa"])
	}
}

type wakeCounter struct{ n int }

func (w *wakeCounter) Wake() { w.n++ }

func TestDeleteNamespace(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	wake := &wakeCounter{}
	env.h.opts.NamespaceReclaimer = wake
	op := NewOperator(env.h)
	del := func(req *operatorservice.DeleteNamespaceRequest) (*operatorservice.DeleteNamespaceResponse, *status.Status) {
		resp, err := op.DeleteNamespace(ctx, req)
		return resp, wire(err)
	}
	for _, c := range []struct {
		name string
		req  *operatorservice.DeleteNamespaceRequest
		code codes.Code
		msg  string
	}{
		{"nothing named", &operatorservice.DeleteNamespaceRequest{}, codes.InvalidArgument, "Namespace not set on request."},
		{"unknown", &operatorservice.DeleteNamespaceRequest{Namespace: "nope"}, codes.NotFound, "Namespace nope is not found."},
		{"unknown ID", &operatorservice.DeleteNamespaceRequest{NamespaceId: "f00"}, codes.NotFound, "Namespace f00 is not found."},
		{"name and ID disagree", &operatorservice.DeleteNamespaceRequest{Namespace: "default", NamespaceId: env.otherID},
			codes.InvalidArgument, "Namespace and NamespaceId name different namespaces."},
		{"delay", &operatorservice.DeleteNamespaceRequest{Namespace: "default", NamespaceDeleteDelay: durationpb.New(time.Hour)},
			codes.Unimplemented, "NamespaceDeleteDelay is not implemented by Sundial yet; delete without a delay."},
	} {
		if _, st := del(c.req); st.Code() != c.code || st.Message() != c.msg {
			t.Errorf("%s: %v %q, want %v %q", c.name, st.Code(), st.Message(), c.code, c.msg)
		}
	}
	if wake.n != 0 {
		t.Fatal("a refused delete woke the reclaimer")
	}

	resp, st := del(&operatorservice.DeleteNamespaceRequest{NamespaceId: env.otherID})
	if st.Code() != codes.OK || resp.GetDeletedNamespace() != "other-deleted-"+env.otherID[:5] || wake.n != 1 {
		t.Fatalf("delete by ID: %v %v, woken %d", resp, st, wake.n)
	}
	if _, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "other"}); wire(err).Code() != codes.NotFound {
		t.Fatalf("describe old name: %v", err)
	}
	d, err := env.h.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: resp.GetDeletedNamespace()})
	if err != nil || d.GetNamespaceInfo().GetState() != enumspb.NAMESPACE_STATE_DELETED {
		t.Fatalf("describe deleted name: %v, %v", d, err)
	}
	if _, err := env.h.StartWorkflowExecution(ctx, &workflowservice.StartWorkflowExecutionRequest{
		Namespace: resp.GetDeletedNamespace(), WorkflowId: "w", WorkflowType: &commonpb.WorkflowType{Name: "t"},
		TaskQueue: &taskqueuepb.TaskQueue{Name: "q"}}); wire(err).Code() != codes.NotFound {
		t.Fatalf("start in a deleted namespace: %v", err)
	}
	_, st = del(&operatorservice.DeleteNamespaceRequest{Namespace: resp.GetDeletedNamespace()})
	if st.Code() != codes.FailedPrecondition || st.Message() != "Namespace has invalid state: Deleted. Must be Registered or Deprecated." {
		t.Fatalf("delete again: %v", st)
	}
	names := func(req *workflowservice.ListNamespacesRequest) []string {
		l, err := env.h.ListNamespaces(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range l.GetNamespaces() {
			out = append(out, n.GetNamespaceInfo().GetName())
		}
		return out
	}
	if got := names(&workflowservice.ListNamespacesRequest{}); fmt.Sprint(got) != "[default]" {
		t.Fatalf("list: %v", got)
	}
	withDeleted := &workflowservice.ListNamespacesRequest{NamespaceFilter: &namespacepb.NamespaceFilter{IncludeDeleted: true}}
	if got := names(withDeleted); fmt.Sprint(got) != "[default "+resp.GetDeletedNamespace()+"]" {
		t.Fatalf("list including deleted: %v", got)
	}
}

package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"
)

const oneDay = 24 * time.Hour

// dialNamespaceClient returns the SDK's namespace client for addr, closed
// when t ends.
func dialNamespaceClient(t *testing.T, addr string) client.NamespaceClient {
	t.Helper()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr, Logger: quietSDKLogger(),
		ConnectionOptions: client.ConnectionOptions{DialOptions: recordedDialOptions(addr)}})
	require.NoError(t, err, "NewNamespaceClient")
	t.Cleanup(nc.Close)
	return nc
}

func registerRequest(name string, retention time.Duration) *workflowservice.RegisterNamespaceRequest {
	return &workflowservice.RegisterNamespaceRequest{Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(retention)}
}

// Register, describe, update and describe again through the SDK's
// namespace client; duplicates and unknown names get Temporal's errors.
func TestNamespaceRegisterDescribeUpdate(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	nc := dialNamespaceClient(t, env.addr)
	name := uniqueName(t, "ns")

	require.NoError(t, nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: name, Description: "orders", OwnerEmail: "team@example.com",
		Data: map[string]string{"tier": "gold", "region": "eu"}, WorkflowExecutionRetentionPeriod: durationpb.New(3 * oneDay),
	}))
	desc, err := nc.Describe(ctx, name)
	require.NoError(t, err)
	info := desc.GetNamespaceInfo()
	require.Equal(t, name, info.GetName())
	require.NotEmpty(t, info.GetId())
	require.Equal(t, "orders", info.GetDescription())
	require.Equal(t, "team@example.com", info.GetOwnerEmail())
	require.Equal(t, map[string]string{"tier": "gold", "region": "eu"}, info.GetData())
	require.Equal(t, 3*oneDay, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
	caps := info.GetCapabilities()
	require.True(t, caps.GetEagerWorkflowStart() && caps.GetSyncUpdate() && caps.GetAsyncUpdate(), "capabilities %v", caps)
	require.False(t, caps.GetWorkerHeartbeats() || caps.GetWorkflowPause() || caps.GetStandaloneActivities(), "capabilities %v", caps)
	require.Positive(t, info.GetLimits().GetBlobSizeLimitError(), "limits")

	byID, err := env.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: info.GetId()})
	require.NoError(t, err, "describe by ID")
	require.Equal(t, name, byID.GetNamespaceInfo().GetName())

	err = nc.Register(ctx, registerRequest(name, oneDay))
	var exists *serviceerror.NamespaceAlreadyExists
	require.ErrorAs(t, err, &exists, "duplicate registration")

	require.NoError(t, nc.Update(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: name,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "orders v2", OwnerEmail: "new@example.com",
			Data: map[string]string{"tier": "platinum", "owner": "ops"}},
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(10 * oneDay)},
	}))
	desc, err = nc.Describe(ctx, name)
	require.NoError(t, err)
	info = desc.GetNamespaceInfo()
	require.Equal(t, "orders v2", info.GetDescription())
	require.Equal(t, "new@example.com", info.GetOwnerEmail())
	require.Equal(t, map[string]string{"tier": "platinum", "region": "eu", "owner": "ops"}, info.GetData(), "data is merged")
	require.Equal(t, 10*oneDay, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())

	var notFound *serviceerror.NamespaceNotFound
	_, err = nc.Describe(ctx, name+"-missing")
	require.ErrorAs(t, err, &notFound, "describe unknown")
	err = nc.Update(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: name + "-missing",
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "x"}})
	require.ErrorAs(t, err, &notFound, "update unknown")
}

// Bad names and retentions under a oneDay are refused with InvalidArgument,
// and a refused update leaves the namespace as it was.
func TestNamespaceValidation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	nc := dialNamespaceClient(t, env.addr)
	name := uniqueName(t, "ns")
	const badRetention = "A valid retention period is not set on request."
	for _, c := range []struct {
		what string
		req  *workflowservice.RegisterNamespaceRequest
		msg  string
	}{
		{"empty name", registerRequest("", oneDay), "Namespace not set on request."},
		{"name over 1000 bytes", registerRequest(strings.Repeat("n", 1001), oneDay), "Namespace length exceeds limit."},
		{"no retention", &workflowservice.RegisterNamespaceRequest{Namespace: name}, badRetention},
		{"retention 1h", registerRequest(name, time.Hour), badRetention},
		{"retention 23h59m", registerRequest(name, oneDay-time.Minute), badRetention},
		{"negative retention", registerRequest(name, -oneDay), badRetention},
	} {
		err := nc.Register(ctx, c.req)
		var invalid *serviceerror.InvalidArgument
		require.ErrorAs(t, err, &invalid, c.what)
		require.Equal(t, c.msg, invalid.Error(), c.what)
	}
	var notFound *serviceerror.NamespaceNotFound
	_, err := nc.Describe(ctx, name)
	require.ErrorAs(t, err, &notFound, "refused registrations must not create the namespace")

	require.NoError(t, nc.Register(ctx, registerRequest(name, oneDay)), "exactly one oneDay is allowed")
	err = nc.Update(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: name,
		UpdateInfo: &namespacepb.UpdateNamespaceInfo{Description: "never stored"},
		Config:     &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(time.Hour)}})
	var invalid *serviceerror.InvalidArgument
	require.ErrorAs(t, err, &invalid, "update to 1h retention")
	require.Equal(t, badRetention, invalid.Error())
	desc, err := nc.Describe(ctx, name)
	require.NoError(t, err)
	require.Equal(t, oneDay, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
	require.Empty(t, desc.GetNamespaceInfo().GetDescription())
}

// ListNamespaces with page size 2 over seven namespaces returns each one
// exactly once.
func TestListNamespacesPages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	nc := dialNamespaceClient(t, env.addr)
	want := map[string]bool{testNamespace: true}
	for i := range 6 {
		name := fmt.Sprintf("list-%d-%s", i, uniqueName(t, "ns"))
		require.NoError(t, nc.Register(ctx, registerRequest(name, oneDay)))
		want[name] = true
	}

	seen := map[string]int{}
	var token []byte
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "paging does not end")
		resp, err := env.client.WorkflowService().ListNamespaces(ctx,
			&workflowservice.ListNamespacesRequest{PageSize: 2, NextPageToken: token})
		require.NoError(t, err)
		require.LessOrEqual(t, len(resp.GetNamespaces()), 2, "page size")
		for _, ns := range resp.GetNamespaces() {
			seen[ns.GetNamespaceInfo().GetName()]++
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	for name := range want {
		require.Equal(t, 1, seen[name], "times %s was listed", name)
	}
	require.Len(t, seen, len(want), "listed: %v", seen)
}

// A namespace is usable the moment RegisterNamespace returns: a worker and
// a client on it run a workflow, and keep doing so after an update.
func TestWorkflowInNewNamespace(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ctx := testContext(t, 60*time.Second)
	nc := dialNamespaceClient(t, env.addr)
	name := uniqueName(t, "ns")
	require.NoError(t, nc.Register(ctx, registerRequest(name, oneDay)))

	c, err := client.DialContext(ctx, client.Options{HostPort: env.addr, Namespace: name, Logger: quietSDKLogger(),
		ConnectionOptions: client.ConnectionOptions{DialOptions: recordedDialOptions(env.addr)}})
	require.NoError(t, err, "dial on %s", name)
	t.Cleanup(c.Close)
	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, who string) (string, error) {
		return "hello " + who + " from " + workflow.GetInfo(ctx).Namespace, nil
	}, workflow.RegisterOptions{Name: "NamespaceHello"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	run := func(who string) (workflowID, result string) {
		r, err := c.ExecuteWorkflow(ctx, startOptions(t, tq), "NamespaceHello", who)
		require.NoError(t, err)
		require.NoError(t, r.Get(ctx, &result))
		return r.GetID(), result
	}
	id, got := run("a")
	require.Equal(t, "hello a from "+name, got)

	require.NoError(t, nc.Update(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: name,
		Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(2 * oneDay)}}))
	_, got = run("b")
	require.Equal(t, "hello b from "+name, got)

	// The workflow belongs to its namespace only.
	_, err = history(ctx, env.client, id, "")
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "history of %s read through the default namespace", id)
}

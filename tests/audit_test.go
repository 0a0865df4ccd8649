package tests

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/sundialhq/sundial/internal/persistence"
	"github.com/sundialhq/sundial/internal/server"
)

// waitForSignals blocks until it has received n "go" signals.
func waitForSignals(ctx workflow.Context, n int) error {
	ch := workflow.GetSignalChannel(ctx, "go")
	for i := 0; i < n; i++ {
		ch.Receive(ctx, nil)
	}
	return nil
}

func auditEntries(t *testing.T, env *authEnv, query string) []persistence.AuditEntry {
	t.Helper()
	var resp struct {
		Entries []persistence.AuditEntry `json:"entries"`
	}
	env.adminGet(t, "/admin/audit?limit=1000&"+query, &resp)
	return resp.Entries
}

func auditAPIs(entries []persistence.AuditEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.API)
	}
	return out
}

// TestAuditLog: with auditing on, a run of SDK calls (a worker polling and
// completing tasks, reads of every kind, and one of each of several
// mutating calls) leaves exactly one entry per mutating call, none for
// reads or worker traffic, each with subject, source, target, request ID
// and result; a denied call is recorded with its code; entries can be
// filtered and survive a restart.
func TestAuditLog(t *testing.T) {
	env := newAuthEnv(t, func(c *server.Config) {
		c.Audit = server.AuditConfig{Enabled: true}
		c.AdminAddress = "127.0.0.1:0"
	})
	ctx := testContext(t, 2*time.Minute)
	admin := env.iss.token(t, jwt.MapClaims{"sub": "alice", "permissions": []string{"temporal-system:admin"}})
	reader := env.iss.token(t, jwt.MapClaims{"sub": "rita", "permissions": []string{testNamespace + ":read"}})
	c := env.sdkClient(t, testNamespace, admin)
	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(waitForSignals)
	require.NoError(t, w.Start())

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "audit-1", TaskQueue: tq}, waitForSignals, 2)
	require.NoError(t, err)
	require.NoError(t, c.SignalWorkflow(ctx, "audit-1", "", "go", nil))
	run2, err := c.SignalWithStartWorkflow(ctx, "audit-2", "go", nil, client.StartWorkflowOptions{TaskQueue: tq}, waitForSignals, 2)
	require.NoError(t, err)
	// Reads.
	_, err = c.DescribeWorkflowExecution(ctx, "audit-1", "")
	require.NoError(t, err)
	_, err = c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace})
	require.NoError(t, err)
	it := c.GetWorkflowHistory(ctx, "audit-1", run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		_, err := it.Next()
		require.NoError(t, err)
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: testNamespace})
	require.NoError(t, err)
	// More writes.
	require.NoError(t, c.CancelWorkflow(ctx, "audit-2", run2.GetRunID()))
	require.NoError(t, c.TerminateWorkflow(ctx, "audit-1", run.GetRunID(), "done"))
	_, err = c.WorkflowService().DeleteWorkflowExecution(ctx, deleteRequest("audit-1", run.GetRunID()))
	require.NoError(t, err)
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: "audit-ns",
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: testNamespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{"AuditKeyword": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	require.NoError(t, err)
	// A denied write, by a reader.
	rc := env.sdkClient(t, testNamespace, reader)
	err = rc.TerminateWorkflow(ctx, "audit-2", "", "no")
	require.Error(t, err)
	w.Stop()

	want := []string{"StartWorkflowExecution", "SignalWorkflowExecution", "SignalWithStartWorkflowExecution",
		"RequestCancelWorkflowExecution", "TerminateWorkflowExecution", "DeleteWorkflowExecution", "RegisterNamespace",
		"AddSearchAttributes", "TerminateWorkflowExecution"}
	entries := auditEntries(t, env, "")
	require.Equal(t, want, auditAPIs(entries))
	start := entries[0]
	require.Equal(t, "alice", start.Subject)
	require.Equal(t, testNamespace, start.Namespace)
	require.Equal(t, "audit-1", start.WorkflowID)
	require.NotEmpty(t, start.RequestID)
	require.Equal(t, "OK", start.Code)
	require.True(t, strings.HasPrefix(start.Source, "127.0.0.1:"), start.Source)
	require.Equal(t, "search_attributes:AuditKeyword", entries[7].Target)
	denied := entries[8]
	require.Equal(t, "rita", denied.Subject)
	require.Equal(t, "PermissionDenied", denied.Code)
	require.Equal(t, "audit-2", denied.WorkflowID)

	require.Len(t, auditEntries(t, env, "subject=rita"), 1)
	require.Len(t, auditEntries(t, env, "namespace=audit-ns"), 1)
	require.Empty(t, auditEntries(t, env, "from="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))))

	env.restart(t)
	require.Equal(t, want, auditAPIs(auditEntries(t, env, "")), "entries after a restart")
}

package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/persistence/sqltest"
)

// cliEcho runs the "CliEcho" activity on its input and returns its result.
func cliEcho(ctx workflow.Context, in string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, "CliEchoActivity", in).Get(ctx, &out)
	return out, err
}

func cliEchoActivity(_ context.Context, in string) (string, error) { return "echo:" + in, nil }

// cliInteractive answers the "state" query, takes "add" updates and waits
// for a "finish" signal (or cancellation), then echoes the signal's value through an
// activity.
func cliInteractive(ctx workflow.Context, name string) (string, error) {
	total := 0
	if err := workflow.SetQueryHandler(ctx, "state", func() (string, error) {
		return fmt.Sprintf("%s:%d", name, total), nil
	}); err != nil {
		return "", err
	}
	if err := workflow.SetUpdateHandler(ctx, "add", func(ctx workflow.Context, n int) (int, error) {
		total += n
		return total, nil
	}); err != nil {
		return "", err
	}
	var sig string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "finish"), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &sig) })
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	sel.Select(ctx)
	if err := ctx.Err(); err != nil {
		return "", temporal.NewCanceledError()
	}
	return cliEcho(ctx, fmt.Sprintf("%s:%d", sig, total))
}

// cliAsync schedules an activity that completes asynchronously (by the
// CLI's `activity complete|fail`) and returns its result.
func cliAsync(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          "async-1",
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "CliAsyncActivity").Get(ctx, &out)
	return out, err
}

func cliAsyncActivity(context.Context) (string, error) { return "", activity.ErrResultPending }

// cliParent runs "CliEcho" as child "<its ID>-child" and returns its result.
func cliParent(ctx workflow.Context, in string) (string, error) {
	ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID + "-child"})
	var out string
	err := workflow.ExecuteChildWorkflow(ctx, "CliEcho", in).Get(ctx, &out)
	return out, err
}

func registerCLIWorkflows(r worker.Registry) {
	r.RegisterWorkflowWithOptions(cliParent, workflow.RegisterOptions{Name: "CliParent"})
	r.RegisterWorkflowWithOptions(cliEcho, workflow.RegisterOptions{Name: "CliEcho"})
	r.RegisterWorkflowWithOptions(cliInteractive, workflow.RegisterOptions{Name: "CliInteractive"})
	r.RegisterWorkflowWithOptions(cliAsync, workflow.RegisterOptions{Name: "CliAsync"})
	r.RegisterActivityWithOptions(cliEchoActivity, activity.RegisterOptions{Name: "CliEchoActivity"})
	r.RegisterActivityWithOptions(cliAsyncActivity, activity.RegisterOptions{Name: "CliAsyncActivity"})
}

// TestCLIOperatorCluster: `operator cluster health|describe|system|list`.
func TestCLIOperatorCluster(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)

	require.Equal(t, "SERVING\n", cli.ok(t, "operator", "cluster", "health").stdout)
	require.Equal(t, "SERVING", cli.json(t, "operator", "cluster", "health")["status"])

	// The store is the test backend's (sqlite, postgres12 or mysql8).
	store := testBackendPlugin(t)
	info := cli.json(t, "operator", "cluster", "describe")
	require.Equal(t, "active", info["clusterName"])
	require.EqualValues(t, 4, info["historyShardCount"])
	require.Equal(t, store, info["persistenceStore"])
	require.NotEmpty(t, info["serverVersion"])
	text := cli.ok(t, "operator", "cluster", "describe", "--detail").stdout
	require.Regexp(t, `ClusterName\s+PersistenceStore\s+VisibilityStore\s+HistoryShardCount`, text)
	require.Regexp(t, `active\s+`+store+`\s+`+store+`\s+4`, text)

	sys := cli.json(t, "operator", "cluster", "system")
	require.NotEmpty(t, sys["serverVersion"])
	require.Equal(t, true, jget(sys, "capabilities.sdkMetadata"))
	require.Equal(t, true, jget(sys, "capabilities.supportsSchedules"))
	require.Regexp(t, `ServerVersion\s+SupportsSchedules\s+UpsertMemo\s+EagerWorkflowStart\n\s+\S+\s+true\s+true\s+true`,
		cli.ok(t, "operator", "cluster", "system").stdout)

	clusters := cli.jsonList(t, "operator", "cluster", "list")
	require.Len(t, clusters, 1)
	require.Equal(t, "active", clusters[0]["clusterName"])
	require.Equal(t, env.addr, clusters[0]["address"])
	require.EqualValues(t, 4, clusters[0]["historyShardCount"])
	require.Equal(t, true, clusters[0]["isConnectionEnabled"])
	require.Regexp(t, `active\s+`+regexp.QuoteMeta(env.addr)+`\s+4\s+1\s+true`, cli.ok(t, "operator", "cluster", "list").stdout)
}

// TestCLIUnimplementedFeatures: commands for features Sundial lacks fail
// with Unimplemented naming the feature, never with a wrong answer.
func TestCLIUnimplementedFeatures(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	cli.fails(t, "Worker deployments are not implemented by Sundial yet (method ListWorkerDeployments)", "worker", "deployment", "list")
	cli.fails(t, "Nexus endpoints are not implemented by Sundial yet (method ListNexusEndpoints)", "operator", "nexus", "endpoint", "list")
	cli.fails(t, "Worker heartbeats and the worker list are not implemented by Sundial yet (method ListWorkers)", "worker", "list")
	cli.fails(t, "Worker versioning (build IDs) is not implemented by Sundial yet (method GetWorkerVersioningRules)",
		"task-queue", "versioning", "get-rules", "--task-queue", "q")
}

// TestCLISearchAttributes: `operator search-attribute create|list|remove`.
func TestCLISearchAttributes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	require.Contains(t, cli.ok(t, "operator", "search-attribute", "create", "--name", "CliKw", "--type", "Keyword",
		"--name", "CliInt", "--type", "Int").stdout, "Search attributes have been added")
	list := cli.json(t, "operator", "search-attribute", "list")
	require.Equal(t, map[string]any{"CliKw": "INDEXED_VALUE_TYPE_KEYWORD", "CliInt": "INDEXED_VALUE_TYPE_INT"}, list["customAttributes"])
	require.Equal(t, "INDEXED_VALUE_TYPE_KEYWORD", jget(list, "systemAttributes.WorkflowId"))
	require.Regexp(t, `CliKw\s+Keyword`, cli.ok(t, "operator", "search-attribute", "list").stdout)

	cli.fails(t, "unable to add search attributes: Search attribute WorkflowId is reserved by system.",
		"operator", "search-attribute", "create", "--name", "WorkflowId", "--type", "Keyword")
	cli.fails(t, "search attribute CliInt already exists and has different type Int",
		"operator", "search-attribute", "create", "--name", "CliInt", "--type", "Keyword")
	require.Contains(t, cli.ok(t, "operator", "search-attribute", "remove", "--name", "CliKw", "--yes").stdout,
		"Search attributes have been removed")
	list = cli.json(t, "operator", "search-attribute", "list")
	require.Equal(t, map[string]any{"CliInt": "INDEXED_VALUE_TYPE_INT"}, list["customAttributes"])
	cli.fails(t, "Search attribute CliKw doesn't exist.", "operator", "search-attribute", "remove", "--name", "CliKw", "--yes")
}

// testBackendPlugin is the SQL plugin name of the test backend.
func testBackendPlugin(t *testing.T) string {
	switch b := os.Getenv(BackendEnv); b {
	case "", "sqlite":
		return config.PluginSQLite
	case "postgres":
		return sqltest.Postgres.Plugin
	default:
		return sqltest.MySQL.Plugin
	}
}

// dialNamespace connects an SDK client to namespace ns of env.
func dialNamespace(t *testing.T, env *testEnv, ns string) client.Client {
	t.Helper()
	c, err := client.DialContext(testContext(t, 30*time.Second), client.Options{
		HostPort: env.addr, Namespace: ns, Logger: quietSDKLogger()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// TestCLIOperatorNamespace: `operator namespace create|describe|list|
// update|delete`; delete answers as the reference (the renamed namespace),
// frees the name at once and removes the namespace's runs and record in
// the background.
func TestCLIOperatorNamespace(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	ns := cli.in("cli-ns")

	require.Equal(t, "Namespace cli-ns successfully registered.\n",
		ns.ok(t, "operator", "namespace", "create", "--retention", "72h", "--description", "first", "--email", "a@example.com").stdout)
	ns.fails(t, "already exists", "operator", "namespace", "create")
	d := ns.json(t, "operator", "namespace", "describe")
	id, _ := jget(d, "namespaceInfo.id").(string)
	require.Len(t, id, 36)
	require.Equal(t, "cli-ns", jget(d, "namespaceInfo.name"))
	require.Equal(t, "NAMESPACE_STATE_REGISTERED", jget(d, "namespaceInfo.state"))
	require.Equal(t, "first", jget(d, "namespaceInfo.description"))
	require.Equal(t, "a@example.com", jget(d, "namespaceInfo.ownerEmail"))
	require.Equal(t, true, jget(d, "namespaceInfo.capabilities.eagerWorkflowStart"), "capabilities right after create")
	require.Equal(t, "259200s", jget(d, "config.workflowExecutionRetentionTtl"))
	require.Regexp(t, `NamespaceInfo\.Name\s+cli-ns\n`, ns.ok(t, "operator", "namespace", "describe").stdout)
	require.Equal(t, "cli-ns", jget(cli.json(t, "operator", "namespace", "describe", "--namespace-id", id), "namespaceInfo.name"))

	require.Equal(t, "Namespace cli-ns update succeeded.\n", ns.ok(t, "operator", "namespace", "update", "--description", "second").stdout)
	require.Equal(t, "second", jget(ns.json(t, "operator", "namespace", "describe"), "namespaceInfo.description"))
	require.ElementsMatch(t, []string{"cli-ns", "default"}, namespaceNames(cli.jsonList(t, "operator", "namespace", "list")))

	// Runs in the namespace: one open, one closed.
	c := dialNamespace(t, env, "cli-ns")
	ctx := testContext(t, 2*time.Minute)
	for _, id := range []string{"open", "closed"} {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody"}, "Nothing")
		require.NoError(t, err)
	}
	require.NoError(t, c.TerminateWorkflow(ctx, "closed", "", "done"))

	require.Contains(t, ns.ok(t, "operator", "namespace", "delete", "--yes").stdout, "Namespace cli-ns has been deleted.")
	deleted := "cli-ns-deleted-" + id[:5]
	ns.fails(t, "Namespace cli-ns is not found", "operator", "namespace", "describe")
	ns.fails(t, "Namespace cli-ns is not found", "workflow", "start", "--type", "Nothing", "--task-queue", "nobody", "--workflow-id", "late")
	ns.fails(t, "Namespace cli-ns is not found", "operator", "namespace", "delete", "--yes")
	require.Equal(t, []string{"default"}, namespaceNames(cli.jsonList(t, "operator", "namespace", "list")))
	// Until its data is gone the namespace is described under its new name.
	if r := cli.in(deleted).run(t, "operator", "namespace", "describe", "--output", "json"); r.err == nil {
		require.Contains(t, r.stdout, `"state": "NAMESPACE_STATE_DELETED"`, "%s", r)
		require.Contains(t, r.stdout, `"name": "`+deleted+`"`, "%s", r)
	} else {
		require.Contains(t, r.stderr, "Namespace "+deleted+" is not found", "%s", r)
	}

	// The name is free at once; the new namespace has none of the old runs.
	ns.ok(t, "operator", "namespace", "create")
	require.NotEqual(t, id, jget(ns.json(t, "operator", "namespace", "describe"), "namespaceInfo.id"))
	require.Empty(t, ns.jsonList(t, "workflow", "list"))

	// The runs and then the record go in the background.
	eventually(t, ctx, "the deleted namespace to be removed", func() error {
		_, err := env.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Id: id})
		var nf *serviceerror.NamespaceNotFound
		if !errors.As(err, &nf) {
			return fmt.Errorf("describe by ID: %v", err)
		}
		return nil
	})

	// JSON output: the reference's answer, the renamed namespace.
	other := cli.in("cli-ns2")
	other.ok(t, "operator", "namespace", "create")
	id2, _ := jget(other.json(t, "operator", "namespace", "describe"), "namespaceInfo.id").(string)
	require.Equal(t, map[string]any{"deletedNamespace": "cli-ns2-deleted-" + id2[:5]},
		other.json(t, "operator", "namespace", "delete", "--yes"))
}

func namespaceNames(list []map[string]any) []string {
	var out []string
	for _, d := range list {
		out = append(out, fmt.Sprint(jget(d, "namespaceInfo.name")))
	}
	return out
}

// cliEventTypes lists the eventType of each event of a `workflow show
// --output json` document.
func cliEventTypes(doc map[string]any) []string {
	events, _ := doc["events"].([]any)
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = fmt.Sprint(jget(e, "eventType"))
	}
	return out
}

var echoHistory = []string{
	"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "EVENT_TYPE_WORKFLOW_TASK_STARTED",
	"EVENT_TYPE_WORKFLOW_TASK_COMPLETED", "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "EVENT_TYPE_ACTIVITY_TASK_STARTED",
	"EVENT_TYPE_ACTIVITY_TASK_COMPLETED", "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED", "EVENT_TYPE_WORKFLOW_TASK_STARTED",
	"EVENT_TYPE_WORKFLOW_TASK_COMPLETED", "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
}

// TestCLIWorkflowRun: `workflow execute|start|list|count|describe|show|
// trace|result|reset|delete` on runs a worker of this process executes.
func TestCLIWorkflowRun(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)

	exec := cli.json(t, "workflow", "execute", "--type", "CliEcho", "--task-queue", tq, "--workflow-id", "cli-exec", "--input", `"hi"`)
	require.Equal(t, "COMPLETED", exec["status"])
	require.Equal(t, "echo:hi", exec["result"])
	require.Equal(t, "11", jget(exec, "closeEvent.eventId"))
	firstRun := exec["runId"].(string)
	text := cli.ok(t, "workflow", "execute", "--type", "CliEcho", "--task-queue", tq, "--workflow-id", "cli-exec2", "--input", `"yo"`).stdout
	require.Regexp(t, `(?s)Running execution:.*WorkflowId\s+cli-exec2.*Progress:.*11\s+\S+\s+WorkflowExecutionCompleted.*Status\s+COMPLETED\n\s+Result\s+"echo:yo"`, text)

	started := cli.json(t, "workflow", "start", "--type", "CliInteractive", "--task-queue", tq, "--workflow-id", "cli-open", "--input", `"x"`)
	require.Equal(t, "cli-open", started["workflowId"])
	require.Len(t, started["runId"], 36)

	// Visibility records are written by the runs' outbox tasks, so they
	// may lag the calls that returned.
	eventually(t, testContext(t, time.Minute), "the runs to be listed", func() error {
		list := cli.jsonList(t, "workflow", "list", "--query", "WorkflowType = 'CliEcho' AND ExecutionStatus = 'Completed'")
		if len(list) != 2 || jget(list[0], "historyLength") != "11" {
			return fmt.Errorf("completed CliEcho runs: %v", list)
		}
		r := cli.ok(t, "workflow", "list", "--query", "ExecutionStatus = 'Running'")
		if !regexp.MustCompile(`Running\s+cli-open\s+CliInteractive`).MatchString(r.stdout) {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	require.Equal(t, "Total: 3\n", cli.ok(t, "workflow", "count").stdout)
	require.Equal(t, map[string]any{"count": "2"}, cli.json(t, "workflow", "count", "--query", "WorkflowType = 'CliEcho'"))
	grouped := cli.json(t, "workflow", "count", "--query", "GROUP BY ExecutionStatus")
	require.Equal(t, "3", grouped["count"])
	require.Len(t, grouped["groups"], 2)
	text = cli.ok(t, "workflow", "count", "--query", "GROUP BY ExecutionStatus").stdout
	require.Contains(t, text, "Total: 3")
	require.Contains(t, text, "Group total: 1, values: Running")
	require.Contains(t, text, "Group total: 2, values: Completed")

	desc := cli.json(t, "workflow", "describe", "--workflow-id", "cli-exec")
	require.Equal(t, "WORKFLOW_EXECUTION_STATUS_COMPLETED", jget(desc, "workflowExecutionInfo.status"))
	require.Equal(t, tq, jget(desc, "executionConfig.taskQueue.name"))
	require.Regexp(t, `(?s)Execution Info:.*WorkflowId\s+cli-open.*Type\s+CliInteractive.*Pending Activities: 0`,
		cli.ok(t, "workflow", "describe", "--workflow-id", "cli-open").stdout)

	require.Equal(t, echoHistory, cliEventTypes(cli.json(t, "workflow", "show", "--workflow-id", "cli-exec")))
	require.Regexp(t, `(?s)Progress:.*1\s+\S+\s+WorkflowExecutionStarted.*11\s+\S+\s+WorkflowExecutionCompleted.*Result\s+"echo:hi"`,
		cli.ok(t, "workflow", "show", "--workflow-id", "cli-exec").stdout)
	require.Regexp(t, `(?s)CliEcho.*wfId: cli-exec,.*CliEchoActivity`, cli.ok(t, "workflow", "trace", "--workflow-id", "cli-exec").stdout)

	cli.fails(t, "query was rejected, workflow has status: Completed",
		"workflow", "query", "--workflow-id", "cli-exec", "--type", "__stack_trace", "--reject-condition", "not_open")
	res := cli.json(t, "workflow", "result", "--workflow-id", "cli-exec")
	require.Equal(t, "COMPLETED", res["status"])
	require.Equal(t, "echo:hi", res["result"])
	require.Regexp(t, `Status\s+COMPLETED\n\s+Result\s+"echo:hi"`, cli.ok(t, "workflow", "result", "--workflow-id", "cli-exec").stdout)

	cliResetAndDelete(t, cli, firstRun)
}

// cliResetAndDelete: `workflow reset` of the completed runs cli-exec
// (whose first run is firstRun) and cli-exec2, then `workflow delete`.
func cliResetAndDelete(t *testing.T, cli *cliRunner, firstRun string) {
	t.Helper()
	// Reset to the first workflow task: a new run that completes again.
	reset := cli.json(t, "workflow", "reset", "--workflow-id", "cli-exec", "--type", "FirstWorkflowTask", "--reason", "again")
	newRun, _ := reset["runId"].(string)
	require.Len(t, newRun, 36)
	require.NotEqual(t, firstRun, newRun)
	eventually(t, testContext(t, time.Minute), "the reset run to complete", func() error {
		r := cli.json(t, "workflow", "describe", "--workflow-id", "cli-exec", "--run-id", newRun)
		if s := jget(r, "workflowExecutionInfo.status"); s != "WORKFLOW_EXECUTION_STATUS_COMPLETED" {
			return fmt.Errorf("status %v", s)
		}
		return nil
	})
	show := cli.json(t, "workflow", "show", "--workflow-id", "cli-exec", "--run-id", firstRun)
	require.Equal(t, echoHistory, cliEventTypes(show), "the reset run keeps its history")
	require.Equal(t, "Resetting workflow cli-exec2 to event ID 4\n",
		cli.ok(t, "workflow", "reset", "--workflow-id", "cli-exec2", "--type", "FirstWorkflowTask", "--reason", "again").stdout)

	require.Equal(t, "Delete workflow succeeded\n", cli.ok(t, "workflow", "delete", "--workflow-id", "cli-exec", "--run-id", firstRun).stdout)
	cli.fails(t, "workflow execution not found", "workflow", "describe", "--workflow-id", "cli-exec", "--run-id", firstRun)
}

// TestCLIWorkflowInteract: `workflow query|stack|metadata|signal|
// signal-with-start|show --follow|cancel|terminate` on running workflows.
func TestCLIWorkflowInteract(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)
	start := func(id string) {
		cli.ok(t, "workflow", "start", "--type", "CliInteractive", "--task-queue", tq, "--workflow-id", id, "--input", `"x"`)
	}
	start("cli-int")

	require.Equal(t, map[string]any{"queryResult": []any{"x:0"}}, cli.json(t, "workflow", "query", "--workflow-id", "cli-int", "--type", "state"))
	require.Regexp(t, `Query result:\n\s+QueryResult\s+"x:0"`, cli.ok(t, "workflow", "query", "--workflow-id", "cli-int", "--type", "state").stdout)
	cli.fails(t, "unknown queryType nope", "workflow", "query", "--workflow-id", "cli-int", "--type", "nope")
	stack := cli.json(t, "workflow", "stack", "--workflow-id", "cli-int")
	require.Contains(t, fmt.Sprint(jget(stack, "queryResult.0")), "coroutine root [blocked on")
	meta := cli.json(t, "workflow", "metadata", "--workflow-id", "cli-int")
	require.Equal(t, "CliInteractive", jget(meta, "queryResult.0.definition.type"))
	require.Equal(t, "add", jget(meta, "queryResult.0.definition.updateDefinitions.0.name"))
	require.Equal(t, "finish", jget(meta, "queryResult.0.definition.signalDefinitions.0.name"))

	// show --follow waits for the run to close.
	followed := make(chan cliResult, 1)
	go func() {
		followed <- cli.run(t, "workflow", "show", "--follow", "--workflow-id", "cli-int", "--output", "json")
	}()
	require.Equal(t, "Signal workflow succeeded\n",
		cli.ok(t, "workflow", "signal", "--workflow-id", "cli-int", "--name", "finish", "--input", `"go"`).stdout)
	var r cliResult
	select {
	case r = <-followed:
	case <-testContext(t, 3*time.Minute).Done():
		t.Fatal("workflow show --follow did not return after the run closed")
	}
	require.NoError(t, r.err, "%s", r)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "%s", r)
	types := cliEventTypes(doc)
	require.Equal(t, "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", types[len(types)-1], "%s", r)
	require.Contains(t, types, "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
	require.Equal(t, "echo:go:0", cli.json(t, "workflow", "result", "--workflow-id", "cli-int")["result"])
	cli.fails(t, "workflow execution already completed", "workflow", "signal", "--workflow-id", "cli-int", "--name", "finish", "--input", `"again"`)

	// signal-with-start starts the run with the signal as its first input.
	sws := cli.json(t, "workflow", "signal-with-start", "--type", "CliInteractive", "--task-queue", tq,
		"--workflow-id", "cli-sws", "--signal-name", "finish", "--signal-input", `"s"`, "--input", `"y"`)
	require.Equal(t, "cli-sws", sws["workflowId"])
	require.Equal(t, "echo:s:0", cli.json(t, "workflow", "result", "--workflow-id", "cli-sws")["result"])

	start("cli-cancel")
	require.Equal(t, "Canceled workflow\n", cli.ok(t, "workflow", "cancel", "--workflow-id", "cli-cancel").stdout)
	require.Equal(t, "CANCELED", cli.result(t, "cli-cancel")["status"])

	start("cli-term")
	require.Equal(t, "Workflow terminated\n", cli.ok(t, "workflow", "terminate", "--workflow-id", "cli-term", "--reason", "bye").stdout)
	term := cli.result(t, "cli-term")
	// The CLI has no status name for a terminated run (against any server).
	require.Equal(t, "<unknown>", term["status"])
	require.Equal(t, "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED", jget(term, "closeEvent.eventType"))
	require.Equal(t, "bye", jget(term, "closeEvent.workflowExecutionTerminatedEventAttributes.reason"))
	cli.fails(t, "workflow execution already completed", "workflow", "terminate", "--workflow-id", "cli-term")
}

// TestCLIWorkflowUpdate: `workflow update execute|start|result|describe`
// and `workflow execute-update-with-start|start-update-with-start`.
func TestCLIWorkflowUpdate(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)
	cli.ok(t, "workflow", "start", "--type", "CliInteractive", "--task-queue", tq, "--workflow-id", "cli-int", "--input", `"x"`)

	upd := cli.json(t, "workflow", "update", "execute", "--workflow-id", "cli-int", "--name", "add", "--input", "3", "--update-id", "u1")
	require.Equal(t, map[string]any{"name": "add", "updateId": "u1", "result": float64(3)}, upd)
	require.Equal(t, map[string]any{"name": "add", "updateId": "u2"},
		cli.json(t, "workflow", "update", "start", "--workflow-id", "cli-int", "--name", "add", "--input", "4", "--update-id", "u2", "--wait-for-stage", "accepted"))
	require.Equal(t, map[string]any{"updateId": "u2", "result": float64(7)},
		cli.json(t, "workflow", "update", "result", "--workflow-id", "cli-int", "--update-id", "u2"))
	require.Equal(t, map[string]any{"updateId": "u2", "result": float64(7), "stage": "Completed"},
		cli.json(t, "workflow", "update", "describe", "--workflow-id", "cli-int", "--update-id", "u2"))
	cli.fails(t, "not found", "workflow", "update", "describe", "--workflow-id", "cli-int", "--update-id", "nope")

	// Update-with-start: the first starts the run, the second updates it.
	uws := cli.json(t, "workflow", "execute-update-with-start", "--type", "CliInteractive", "--task-queue", tq,
		"--workflow-id", "cli-uws", "--input", `"u"`, "--update-name", "add", "--update-input", "5",
		"--update-id", "uws-1", "--id-conflict-policy", "UseExisting")
	require.Equal(t, "cli-uws", uws["workflowId"])
	require.Equal(t, "uws-1", uws["updateId"])
	require.Equal(t, float64(5), uws["updateResult"])
	firstRun := uws["runId"]
	suws := cli.json(t, "workflow", "start-update-with-start", "--type", "CliInteractive", "--task-queue", tq,
		"--workflow-id", "cli-uws", "--input", `"u"`, "--update-name", "add", "--update-input", "6",
		"--update-id", "uws-2", "--id-conflict-policy", "UseExisting", "--update-wait-for-stage", "accepted")
	require.Equal(t, firstRun, suws["runId"], "%v", suws)
	require.Equal(t, map[string]any{"updateId": "uws-2", "result": float64(11)},
		cli.json(t, "workflow", "update", "result", "--workflow-id", "cli-uws", "--update-id", "uws-2"))

	require.Equal(t, "Signal workflow succeeded\n",
		cli.ok(t, "workflow", "signal", "--workflow-id", "cli-int", "--name", "finish", "--input", `"go"`).stdout)
	require.Equal(t, "echo:go:7", cli.json(t, "workflow", "result", "--workflow-id", "cli-int")["result"])
	show := cli.json(t, "workflow", "show", "--workflow-id", "cli-int")
	require.Contains(t, cliEventTypes(show), "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED")
}

// TestCLIWorkflowDescribeDetails: what `workflow describe` and `trace`
// show of user metadata and of parent, child and root runs.
func TestCLIWorkflowDescribeDetails(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)

	cli.ok(t, "workflow", "start", "--type", "CliInteractive", "--task-queue", tq, "--workflow-id", "cli-meta",
		"--input", `"x"`, "--static-summary", "summie", "--static-details", "deets")
	text := cli.ok(t, "workflow", "describe", "--workflow-id", "cli-meta").stdout
	require.Regexp(t, `StaticSummary\s+"summie"\n`, text)
	require.Regexp(t, `StaticDetails\s+"deets"\n`, text)

	parent := cli.json(t, "workflow", "execute", "--type", "CliParent", "--task-queue", tq, "--workflow-id", "cli-parent", "--input", `"p"`)
	require.Equal(t, "echo:p", parent["result"])
	parentRun := parent["runId"].(string)
	child := cli.json(t, "workflow", "describe", "--workflow-id", "cli-parent-child")
	require.Equal(t, "cli-parent", jget(child, "workflowExecutionInfo.parentExecution.workflowId"))
	require.Equal(t, parentRun, jget(child, "workflowExecutionInfo.parentExecution.runId"))
	require.Equal(t, "cli-parent", jget(child, "workflowExecutionInfo.rootExecution.workflowId"))
	require.Equal(t, parentRun, jget(child, "workflowExecutionInfo.rootExecution.runId"))
	text = cli.ok(t, "workflow", "describe", "--workflow-id", "cli-parent-child").stdout
	require.Regexp(t, `ParentWorkflowId\s+cli-parent\n`, text)
	require.Regexp(t, `RootRunId\s+`+parentRun+`\n`, text)
	require.Regexp(t, `(?s)CliParent.*wfId: cli-parent,.*CliEcho.*wfId: cli-parent-child,.*CliEchoActivity`,
		cli.ok(t, "workflow", "trace", "--workflow-id", "cli-parent", "--no-fold").stdout)
}

// TestCLITaskQueue: `task-queue describe` (enhanced and legacy, every
// type) and `task-queue list-partition`.
func TestCLITaskQueue(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)
	cli.ok(t, "workflow", "execute", "--type", "CliEcho", "--task-queue", tq, "--workflow-id", "tq-run", "--input", `"a"`)

	var pollers []any
	eventually(t, testContext(t, time.Minute), "both pollers to be described", func() error {
		d := cli.json(t, "task-queue", "describe", "--task-queue", tq)
		pollers, _ = d["pollers"].([]any)
		if len(pollers) != 2 {
			return fmt.Errorf("pollers %v", d["pollers"])
		}
		return nil
	})
	types := []string{fmt.Sprint(jget(pollers[0], "taskQueueType")), fmt.Sprint(jget(pollers[1], "taskQueueType"))}
	require.ElementsMatch(t, []string{"workflow", "activity"}, types)
	require.Equal(t, "UNVERSIONED", jget(pollers[0], "buildId"))
	d := cli.json(t, "task-queue", "describe", "--task-queue", tq)
	require.Len(t, d["stats"], 2)
	require.EqualValues(t, 0, jget(d, "stats.0.approximateBacklogCount"))
	require.Regexp(t, `(?s)Task Queue Statistics:.*UNVERSIONED\s+workflow\s+0.*Pollers:.*UNVERSIONED\s+(workflow|activity)\s+\S+`,
		cli.ok(t, "task-queue", "describe", "--task-queue", tq).stdout)
	nexus := cli.json(t, "task-queue", "describe", "--task-queue", tq, "--task-queue-type", "nexus")
	require.Empty(t, nexus["pollers"], "Sundial serves no Nexus tasks")

	require.Regexp(t, `(?s)Task Reachability:.*UNVERSIONED\s+reachable`,
		cli.ok(t, "task-queue", "describe", "--task-queue", tq, "--report-reachability").stdout)

	for _, typ := range []string{"workflow", "activity"} {
		legacy := cli.json(t, "task-queue", "describe", "--task-queue", tq, "--legacy-mode", "--task-queue-type-legacy", typ)
		require.Len(t, legacy["pollers"], 1, typ)
		require.NotEmpty(t, jget(legacy, "pollers.0.identity"), typ)
		require.Regexp(t, `Pollers:\n\s+Identity\s+LastAccessTime\s+RatePerSecond\n`,
			cli.ok(t, "task-queue", "describe", "--task-queue", tq, "--legacy-mode", "--task-queue-type-legacy", typ).stdout)
	}
	// One entry per partition when asked for each.
	perPartition := cli.json(t, "task-queue", "describe", "--task-queue", tq, "--legacy-mode", "--partitions-legacy", "4")
	require.Len(t, perPartition["pollers"], 4)
	require.Len(t, perPartition["taskQueues"], 4)
	require.EqualValues(t, 3, jget(perPartition, "taskQueues.3.partition"))
	cli.in("nope").fails(t, "Namespace nope is not found", "task-queue", "describe", "--task-queue", tq)

	parts := cli.json(t, "task-queue", "list-partition", "--task-queue", tq)
	want := []any{}
	for i := range 4 {
		key := tq
		if i > 0 {
			key = fmt.Sprintf("/_sys/%s/%d", tq, i)
		}
		want = append(want, map[string]any{"key": key, "ownerHostName": env.addr})
	}
	require.Equal(t, want, parts["workflowTaskQueuePartitions"])
	require.Equal(t, want, parts["activityTaskQueuePartitions"])
	require.Regexp(t, `(?s)Workflow Task Queue Partitions.*/_sys/`+regexp.QuoteMeta(tq)+`/3\s+`+regexp.QuoteMeta(env.addr)+`.*Activity Task Queue Partitions`,
		cli.ok(t, "task-queue", "list-partition", "--task-queue", tq).stdout)
	cli.in("nope").fails(t, "Namespace nope is not found", "task-queue", "list-partition", "--task-queue", tq)
}

// TestCLIActivity: `activity complete|fail` by workflow and activity ID.
func TestCLIActivity(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	tq := env.startWorker(t, registerCLIWorkflows)
	waitPending := func(id string) {
		eventually(t, testContext(t, time.Minute), "the activity to start", func() error {
			d := cli.json(t, "workflow", "describe", "--workflow-id", id)
			if s := jget(d, "pendingActivities.0.state"); s != "PENDING_ACTIVITY_STATE_STARTED" {
				return fmt.Errorf("pending activity state %v", s)
			}
			return nil
		})
	}

	cli.ok(t, "workflow", "start", "--type", "CliAsync", "--task-queue", tq, "--workflow-id", "act-ok")
	waitPending("act-ok")
	cli.ok(t, "activity", "complete", "--workflow-id", "act-ok", "--activity-id", "async-1", "--result", `"done"`)
	require.Equal(t, "done", cli.json(t, "workflow", "result", "--workflow-id", "act-ok")["result"])
	cli.fails(t, "activity task not found", "activity", "complete", "--workflow-id", "act-ok", "--activity-id", "async-1", "--result", `"again"`)

	cli.ok(t, "workflow", "start", "--type", "CliAsync", "--task-queue", tq, "--workflow-id", "act-fail")
	waitPending("act-fail")
	cli.ok(t, "activity", "fail", "--workflow-id", "act-fail", "--activity-id", "async-1", "--reason", "broke", "--detail", `"why"`)
	res := cli.result(t, "act-fail")
	require.Equal(t, "FAILED", res["status"])
	require.Equal(t, "broke", jget(res, "closeEvent.workflowExecutionFailedEventAttributes.failure.cause.message"))
	require.Equal(t, "why", jget(res, "closeEvent.workflowExecutionFailedEventAttributes.failure.cause.applicationFailureInfo.details.0"))
	show := cli.json(t, "workflow", "show", "--workflow-id", "act-fail")
	var failed any
	for _, e := range show["events"].([]any) {
		if jget(e, "eventType") == "EVENT_TYPE_ACTIVITY_TASK_FAILED" {
			failed = e
		}
	}
	require.NotNil(t, failed, "no ActivityTaskFailed event")
	require.Equal(t, "broke", jget(failed, "activityTaskFailedEventAttributes.failure.message"))
	cli.fails(t, "activity task not found", "activity", "fail", "--workflow-id", "act-ok", "--activity-id", "async-1", "--reason", "late")
}

// TestCLIBatch: `workflow terminate --query` runs as a batch job that
// `batch list|describe` show; `batch terminate` of an unknown job says so.
func TestCLIBatch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	cli := newCLI(t, env)
	ctx := testContext(t, 2*time.Minute)
	wfType := strings.ReplaceAll(uniqueName(t, "wait"), "-", "_")
	tq := uniqueName(t, "tq") // no worker: the runs stay open
	var runs []client.WorkflowRun
	for range 3 {
		run, err := env.client.ExecuteWorkflow(ctx, startOptions(t, tq), wfType)
		require.NoError(t, err)
		runs = append(runs, run)
	}
	query := fmt.Sprintf("WorkflowType = '%s'", wfType)
	eventually(t, ctx, "the runs listed", func() error {
		resp, err := env.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: testNamespace, Query: query})
		if err != nil || resp.GetCount() != 3 {
			return fmt.Errorf("count %d, err %v", resp.GetCount(), err)
		}
		return nil
	})

	started := cli.json(t, "workflow", "terminate", "--query", query, "--yes", "--reason", "cli batch")
	jobID, _ := started["batchJobId"].(string)
	require.NotEmpty(t, jobID, "%v", started)
	eventually(t, ctx, "the batch job to complete", func() error {
		d := cli.json(t, "batch", "describe", "--job-id", jobID)
		if d["state"] != "BATCH_OPERATION_STATE_COMPLETED" || fmt.Sprint(d["completeOperationCount"]) != "3" {
			return fmt.Errorf("describe: %v", d)
		}
		return nil
	})
	require.Contains(t, cli.ok(t, "batch", "describe", "--job-id", jobID).stdout, "3/3")
	var listed bool
	for _, job := range cli.jsonList(t, "batch", "list") {
		listed = listed || job["jobId"] == jobID
	}
	require.True(t, listed, "job %s in batch list", jobID)
	for _, run := range runs {
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, runStatus(t, env, run.GetID(), run.GetRunID()))
	}
	cli.fails(t, "could not find Batch Job 'no-such-job'", "batch", "terminate", "--job-id", "no-such-job", "--reason", "r")
}

package tests

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/server"
)

// withBearer makes the browser send "Authorization: Bearer token" on every
// request (none when token is empty), as a login proxy in front of the UI
// does; the UI server passes it to Sundial, whose authorizer decides.
func (b *browser) withBearer(token string) {
	b.t.Helper()
	h := network.Headers{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	_, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{})
	require.NoError(b.t, err, "enable the browser's network domain")
	_, err = chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h})
	require.NoError(b.t, err, "set the browser's Authorization header")
}

// drainFailures returns and forgets the failed API calls seen so far.
func (b *browser) drainFailures() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.failed
	b.failed = nil
	return f
}

// TestWebUIReadOnlyToken: with JWT authorization on, the Web UI acts with
// the browser's token. A read-only token lists the workflows, but its
// Terminate (reason filled, confirmed) is refused: the UI shows the
// refusal, the workflow keeps running and the audit log has the denied
// call under the reader's name. A writer's Terminate works. With no token
// the UI shows no workflow.
func TestWebUIReadOnlyToken(t *testing.T) {
	chromium := os.Getenv(ChromiumEnv)
	if chromium == "" {
		t.Skipf("%s is not set: the Web UI browser test needs Chromium (.ci/run installs Debian's chromium and sets it)", ChromiumEnv)
	}
	env := newAuthEnv(t, func(c *server.Config) {
		c.UI = &server.UIConfig{Address: "127.0.0.1:0"}
		c.Audit = server.AuditConfig{Enabled: true}
		c.AdminAddress = "127.0.0.1:0"
	})
	ctx := testContext(t, 5*time.Minute)
	admin := env.iss.token(t, jwt.MapClaims{"sub": "ops", "permissions": []string{auth.SystemNamespace + ":admin"}})
	reader := env.iss.token(t, jwt.MapClaims{"sub": "rita", "permissions": []string{auth.SystemNamespace + ":read"}})
	writer := env.iss.token(t, jwt.MapClaims{"sub": "walt", "permissions": []string{auth.SystemNamespace + ":read", testNamespace + ":write"}})
	c := env.sdkClient(t, testNamespace, admin)
	start := func(id string) client.WorkflowRun {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: uniqueName(t, "idle-tq")}, "UIBlocked")
		require.NoError(t, err)
		return r
	}
	status := func(r client.WorkflowRun) enumspb.WorkflowExecutionStatus {
		d, err := c.DescribeWorkflowExecution(ctx, r.GetID(), r.GetRunID())
		require.NoError(t, err)
		return d.GetWorkflowExecutionInfo().GetStatus()
	}
	uiURL := env.server.UIURL()
	require.NotEmpty(t, uiURL)
	ns := uiURL + "/namespaces/" + testNamespace
	wfPage := func(r client.WorkflowRun) string {
		return ns + "/workflows/" + r.GetID() + "/" + r.GetRunID() + "/history"
	}
	terminate := func(b *browser, name string) {
		b.click(name, "button", "More Actions")
		b.click(name, "button, [role=menuitem]", "Terminate")
		b.click(name, `[data-testid="terminate-confirmation-modal"] input, [data-testid="terminate-confirmation-modal"] textarea`, "")
		require.NoError(t, chromedp.Do(b.ctx, chromedp.KeyEvent("from the UI test")), "%s: type the reason", name)
		b.click(name, `[data-testid="terminate-confirmation-modal"] [data-testid="confirm-modal-button"]`, "")
	}

	victim := start(uniqueName(t, "victim"))
	b := newBrowser(t, chromium)

	// No token: Sundial refuses the UI's calls (the namespaces list
	// first), the UI shows no workflow.
	b.withBearer("")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(ns+"/workflows")))
	require.Eventually(t, func() bool {
		for _, f := range b.drainFailures() {
			if strings.Contains(f, "/api/v1/namespaces") && strings.Contains(f, "403") {
				return true
			}
		}
		return false
	}, pageTimeout, 100*time.Millisecond, "the workflow list is refused without a token")
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](pageTextJS))
	require.NoError(t, err)
	require.NotContains(t, text, victim.GetID(), "the workflow list without a token")
	b.screenshot("no-token")

	// A reader lists the workflow; its Terminate is refused.
	b.withBearer(reader)
	b.visit("reader-list", ns+"/workflows", victim.GetID())
	b.visit("reader-workflow", wfPage(victim), victim.GetID())
	terminate(b, "reader-terminate")
	_, err = chromedp.Run(b.ctx, chromedp.Poll[bool](`(`+errorBannersJS+`).some(s => /unauthorized/i.test(s))`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(pageTimeout)))
	b.screenshot("reader-terminate-refused")
	require.NoError(t, err, "the UI shows the refusal of Terminate")
	failed := b.drainFailures()
	require.Len(t, failed, 1, "failed calls: %v", failed)
	require.Contains(t, failed[0], "/terminate")
	require.Contains(t, failed[0], "403")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, status(victim), "after the reader's Terminate")
	var denied []string
	for _, e := range auditEntries(t, env, "subject=rita") {
		denied = append(denied, e.API+" "+e.WorkflowID+" "+e.Code)
	}
	require.Equal(t, []string{"TerminateWorkflowExecution " + victim.GetID() + " PermissionDenied"}, denied)

	// A writer's Terminate works.
	b.withBearer(writer)
	b.visit("writer-workflow", wfPage(victim), victim.GetID())
	terminate(b, "writer-terminate")
	require.Eventually(t, func() bool { return status(victim) == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED },
		pageTimeout, 50*time.Millisecond, "the writer's Terminate reaches the server")
	b.takeFailures("writer-terminate", "after Terminate")
	// The entry is written after the handler, before the answer: poll.
	var ok []string
	require.Eventually(t, func() bool {
		ok = nil
		for _, e := range auditEntries(t, env, "subject=walt") {
			ok = append(ok, e.API+" "+e.WorkflowID+" "+e.Code)
		}
		return len(ok) > 0
	}, pageTimeout, 50*time.Millisecond, "the writer's Terminate is audited")
	require.Equal(t, []string{"TerminateWorkflowExecution " + victim.GetID() + " OK"}, ok)
}

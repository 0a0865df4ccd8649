package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/persistence"
)

// TestAuditSurvivesKill: every call answered before a SIGKILL is in the
// audit log when the server comes back (the entry is committed before the
// answer goes out). Runs `sundial server` with an `audit` block.
func TestAuditSurvivesKill(t *testing.T) {
	bin := buildSundial(t)
	dir := t.TempDir()
	port, adminPort := freePort(t), freePort(t)
	cfgFile, tokenFile := filepath.Join(dir, "sundial.yaml"), filepath.Join(dir, "admin.token")
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`
persistence:
  numHistoryShards: 2
  defaultStore: db
  datastores:
    db:
      sql:
        pluginName: sqlite
        databaseName: %s
services:
  frontend:
    rpc:
      grpcPort: %d
      bindOnIP: 127.0.0.1
audit:
  enabled: true
`, filepath.Join(dir, "sundial.db"), port)), 0o600))
	start := func() *serverProcess {
		out := &lockedBuffer{}
		cmd := exec.Command(bin, "server", "--config", cfgFile, "--admin-port", strconv.Itoa(adminPort), "--log-level", "warn",
			"--admin-token-file", tokenFile)
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		p := &serverProcess{cmd: cmd, output: out, done: make(chan struct{})}
		go func() {
			_ = cmd.Wait()
			close(p.done)
		}()
		t.Cleanup(p.kill)
		return p
	}
	ctx := testContext(t, 3*time.Minute)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := start()
	c := dialWhenUp(t, ctx, addr, p)
	const n = 5
	for i := range n {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("kill-%d", i), TaskQueue: "none"}, "Nothing")
		require.NoError(t, err)
	}
	c.Close()
	p.kill()

	p = start()
	waitUntilServing(t, ctx, addr, p)
	var resp struct {
		Entries []persistence.AuditEntry `json:"entries"`
	}
	tok, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	st, err := os.Stat(tokenFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the admin token file's mode")
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://localhost:%d/admin/audit", adminPort), nil)
	require.NoError(t, err)
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode, "the admin endpoint without its token")
	_ = r.Body.Close()
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	r, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NoError(t, json.NewDecoder(r.Body).Decode(&resp))
	require.Len(t, resp.Entries, n, "%+v", resp.Entries)
	for i, e := range resp.Entries {
		require.Equal(t, "StartWorkflowExecution", e.API)
		require.Equal(t, fmt.Sprintf("kill-%d", i), e.WorkflowID)
	}
}

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cliVersion is the `temporal` CLI release the CLI tests drive: the newest
// one `go install` builds from the module proxy (later modules need a
// nested module the proxy does not serve).
const cliVersion = "v1.5.1"

// cliInstallTimeout bounds the one-time build of the CLI (it compiles a
// large dependency tree; the machines are slow and shared); the test
// binary's own deadline may cut it shorter. .ci/run builds it before the
// tests.
const cliInstallTimeout = 30 * time.Minute

var cliInstall struct {
	once sync.Once
	path string
	err  error
	skip string
}

// temporalCLI returns the path of the pinned `temporal` CLI, building it
// with `go install` into a per-user cache directory the first time (reused
// by later runs and test binaries). It skips t only when the module proxy
// cannot be reached.
func temporalCLI(t *testing.T) string {
	t.Helper()
	cliInstall.once.Do(func() {
		timeout := cliInstallTimeout
		if dl, ok := t.Deadline(); ok {
			timeout = min(timeout, time.Until(dl)-time.Minute)
		}
		cliInstall.path, cliInstall.skip, cliInstall.err = installCLI(timeout)
	})
	if cliInstall.skip != "" {
		t.Skip(cliInstall.skip)
	}
	require.NoError(t, cliInstall.err, "building the temporal CLI")
	return cliInstall.path
}

func installCLI(timeout time.Duration) (path, skip string, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "sundial-test", "temporal-cli-"+cliVersion)
	path = filepath.Join(dir, "temporal")
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	// Build into a private directory and rename, so concurrent test
	// binaries never see a half-written file.
	bin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(bin)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := goCommand(ctx, bin, "install", "github.com/temporalio/cli/cmd/temporal@"+cliVersion)
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("building the temporal CLI took over %v; build it once with "+
			"`GOBIN=%s go install github.com/temporalio/cli/cmd/temporal@%s` (as .ci/run does)", timeout, dir, cliVersion)
	}
	if err != nil {
		// Tell an unreachable proxy (skip) from a broken build (fail).
		probe, cancelProbe := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancelProbe()
		if pout, perr := goCommand(probe, bin, "mod", "download", "-json", "github.com/temporalio/cli@"+cliVersion); perr != nil {
			return "", "temporal CLI " + cliVersion + " not installable: the Go module proxy is unreachable: " + string(pout), nil
		}
		return "", "", errors.New("go install of the temporal CLI failed: " + err.Error() + "\n" + string(out))
	}
	if err := os.Rename(filepath.Join(bin, "temporal"), path); err != nil {
		return "", "", err
	}
	return path, "", nil
}

// goCommand runs the go tool outside any module with GOBIN=bin.
func goCommand(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	return cmd.CombinedOutput()
}

// cliRunner runs the CLI against one test server and namespace.
type cliRunner struct {
	bin       string
	addr      string
	namespace string
	home      string
}

func newCLI(t *testing.T, env *testEnv) *cliRunner {
	markUnrecordedCallers(env.addr)
	return &cliRunner{bin: temporalCLI(t), addr: env.addr, namespace: testNamespace, home: t.TempDir()}
}

// in returns a runner for namespace ns.
func (c *cliRunner) in(ns string) *cliRunner {
	cp := *c
	cp.namespace = ns
	return &cp
}

// cliResult is one CLI invocation's outcome.
type cliResult struct {
	args   []string
	stdout string
	stderr string
	err    error
}

func (r cliResult) String() string {
	return "temporal " + strings.Join(r.args, " ") + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// run runs `temporal args... --address A --namespace N` with a 2 minute
// bound, a private HOME (no user config files) and no colours.
func (c *cliRunner) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append(append([]string{}, args...), "--address", c.addr, "--namespace", c.namespace, "--color", "never")
	cmd := exec.CommandContext(ctx, c.bin, full...)
	cmd.Env = []string{"HOME=" + c.home, "PATH=" + os.Getenv("PATH"), "NO_COLOR=1", "TZ=UTC"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return cliResult{args: args, stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// ok runs the command and fails t unless it succeeded.
func (c *cliRunner) ok(t *testing.T, args ...string) cliResult {
	t.Helper()
	r := c.run(t, args...)
	require.NoError(t, r.err, "%s", r)
	return r
}

// fails runs the command and fails t unless it failed with stderr
// containing want.
func (c *cliRunner) fails(t *testing.T, want string, args ...string) cliResult {
	t.Helper()
	r := c.run(t, args...)
	require.Error(t, r.err, "%s", r)
	require.Contains(t, r.stderr, want, "%s", r)
	return r
}

// json runs the command with --output json and decodes its single JSON
// document.
func (c *cliRunner) json(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := c.ok(t, append(args, "--output", "json")...)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), "%s", r)
	return m
}

// result runs `workflow result --output json` for workflow id and decodes
// its answer. The CLI exits 1 for a run that did not complete, so only
// the output is checked.
func (c *cliRunner) result(t *testing.T, id string) map[string]any {
	t.Helper()
	r := c.run(t, "workflow", "result", "--workflow-id", id, "--output", "json")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), "%s", r)
	require.Equal(t, m["status"] == "COMPLETED", r.err == nil, "exit status %v for status %v", r.err, m["status"])
	return m
}

// jsonList runs a listing command with --output json (one JSON array).
func (c *cliRunner) jsonList(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	r := c.ok(t, append(args, "--output", "json")...)
	var l []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &l), "%s", r)
	return l
}

// jget walks a decoded JSON document along a dotted path; a number in
// the path indexes a list. It returns nil when the path does not exist.
func jget(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

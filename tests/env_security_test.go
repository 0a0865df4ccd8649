package tests

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// envOnlyServer starts `sundial server` with no config file, configured
// by docker-style variables only (in an empty directory, so no
// config/development.yaml is found); it is killed when t ends.
func envOnlyServer(t *testing.T, bin string, port int, vars ...string) *serverProcess {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, "server")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"DB=sqlite", "SQLITE_FILE=" + filepath.Join(dir, "s.db"),
		"BIND_ON_IP=127.0.0.1", "FRONTEND_GRPC_PORT=" + strconv.Itoa(port)}, vars...)...)
	out := &lockedBuffer{}
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

// The environment route (no config file) maps the docker template's
// frontend TLS variables (the server then speaks only TLS) and refuses
// one it cannot honour, naming it, without serving.
func TestEnvOnlySecurityVariables(t *testing.T) {
	bin := buildSundial(t)
	ca := certtest.NewCA(t, "env-ca")
	certFile, keyFile := ca.Server(t).WriteFiles(t, t.TempDir(), "server")

	port := freePort(t)
	p := envOnlyServer(t, bin, port, "TEMPORAL_TLS_FRONTEND_CERT="+certFile, "TEMPORAL_TLS_FRONTEND_KEY="+keyFile)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx := testContext(t, time.Minute)
	cfg := &tls.Config{RootCAs: certtest.Pool(ca), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(dctx, client.Options{HostPort: addr, Namespace: testNamespace, Logger: quietSDKLogger(),
			ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
		cancel()
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-p.done:
			t.Fatalf("server exited: %s", p.output.String())
		case <-ctx.Done():
			t.Fatalf("no TLS client got through: %v\n%s", err, p.output.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	plain, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: testNamespace, Logger: quietSDKLogger()})
	if err == nil {
		plain.Close()
		t.Fatal("a plaintext client got through a server configured for TLS by TEMPORAL_TLS_FRONTEND_CERT")
	}
	p.kill()

	refused := envOnlyServer(t, bin, freePort(t), "TEMPORAL_TLS_SERVER_CERT="+certFile)
	select {
	case <-refused.done:
	case <-ctx.Done():
		t.Fatalf("server with TEMPORAL_TLS_SERVER_CERT did not exit:\n%s", refused.output.String())
	}
	require.False(t, refused.cmd.ProcessState.Success())
	require.Contains(t, refused.output.String(), "TEMPORAL_TLS_SERVER_CERT")
}

package tests

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// mtlsEnv is a server requiring client certificates from clientCA on
// gRPC and the HTTP API, its certificate files, and the CAs involved.
type mtlsEnv struct {
	srv                *server.Server
	serverCA, clientCA *certtest.CA
	dir                string
	logs               *lockedBuffer
}

// newMTLSEnv starts a server whose certificates are files in a temporary
// directory, re-read every refresh (0: never).
func newMTLSEnv(t *testing.T, refresh time.Duration) *mtlsEnv {
	t.Helper()
	return newMTLSEnvWith(t, refresh, nil)
}

// newMTLSEnvWith is newMTLSEnv with tweak applied to the server's config.
func newMTLSEnvWith(t *testing.T, refresh time.Duration, tweak func(*server.Config)) *mtlsEnv {
	t.Helper()
	e := &mtlsEnv{serverCA: certtest.NewCA(t, "server-ca"), clientCA: certtest.NewCA(t, "client-ca"),
		dir: t.TempDir(), logs: &lockedBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server and SDK logs:\n%s", e.logs.String())
		}
	})
	certFile, keyFile := e.serverCA.Server(t).WriteFiles(t, e.dir, "server")
	caFile := filepath.Join(e.dir, "client-ca.pem")
	certtest.WriteFile(t, caFile, e.clientCA.CertPEM)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, dbFile := testBackend(t)
	cfg := server.Config{
		IP: "127.0.0.1", DBFilename: dbFile, Store: store, NumShards: 4, Namespaces: []string{testNamespace},
		Logger: logger.With("component", "server"), HTTPAddress: "127.0.0.1:0",
		FrontendTLS: config.GroupTLS{Server: config.ServerTLS{
			CertFile: certFile, KeyFile: keyFile, ClientCAFiles: []string{caFile}, RequireClientAuth: true}},
		TLSRefreshInterval: refresh,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	e.srv = s
	return e
}

// clientTLS trusts the server's CA and always presents cert (nil: none).
// GetClientCertificate, not Certificates: Go's client would silently
// withhold a certificate whose issuer the server does not list.
func (e *mtlsEnv) clientTLS(t *testing.T, cert *certtest.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: certtest.Pool(e.serverCA), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		c := cert.TLS(t)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

// dialSDK dials an SDK client over TLS (client.Dial checks the
// connection with GetSystemInfo).
func (e *mtlsEnv) dialSDK(ctx context.Context, cfg *tls.Config) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort: e.srv.FrontendAddr(), Namespace: testNamespace, Logger: quietSDKLogger(),
		ConnectionOptions: client.ConnectionOptions{TLS: cfg},
	})
}

// badClientCerts are the certificates (nil: none) the server must refuse.
func (e *mtlsEnv) badClientCerts(t *testing.T) map[string]*certtest.Leaf {
	return map[string]*certtest.Leaf{
		"no client certificate":       nil,
		"certificate from another CA": certtest.NewCA(t, "other-ca").Client(t, "stranger"),
		"expired certificate":         e.clientCA.ExpiredClient(t, "old-worker"),
	}
}

func tlsEchoWorkflow(ctx workflow.Context, s string) (string, error) { return "tls:" + s, nil }

// Over gRPC a client certificate from the configured CA runs a workflow
// with the Go SDK; no certificate, another CA's or an expired one fail
// the handshake, and plaintext is refused.
func TestTLSMutualAuthGRPC(t *testing.T) {
	e := newMTLSEnv(t, 0)
	ctx := testContext(t, 2*time.Minute)
	c, err := e.dialSDK(ctx, e.clientTLS(t, e.clientCA.Client(t, "worker")))
	require.NoError(t, err, "dial with a valid client certificate")
	t.Cleanup(c.Close)
	tq := uniqueName(t, "tq")
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(tlsEchoWorkflow)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: tq}, tlsEchoWorkflow, "hi")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	require.Equal(t, "tls:hi", got)

	for name, cert := range e.badClientCerts(t) {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		bad, err := e.dialSDK(dctx, e.clientTLS(t, cert))
		cancel()
		if err == nil {
			bad.Close()
			t.Errorf("%s: SDK dial succeeded, want the handshake refused", name)
		}
		_, err = handshake(e.srv.FrontendAddr(), e.clientTLS(t, cert), []string{"h2"})
		require.Error(t, err, "%s: raw TLS handshake", name)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if plain, err := client.DialContext(dctx, client.Options{HostPort: e.srv.FrontendAddr(), Logger: quietSDKLogger()}); err == nil {
		plain.Close()
		t.Error("plaintext SDK dial succeeded against a TLS frontend")
	}
}

// The HTTP API is served over the same TLS, with the same client checks.
func TestTLSMutualAuthHTTP(t *testing.T) {
	e := newMTLSEnv(t, 0)
	get := func(cfg *tls.Config) (int, string, error) {
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get("https://" + e.srv.HTTPAddr() + "/api/v1/system-info")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	code, body, err := get(e.clientTLS(t, e.clientCA.Client(t, "ui")))
	require.NoError(t, err, "valid client certificate")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"serverVersion":"`+server.TemporalVersion+`"`)
	for name, cert := range e.badClientCerts(t) {
		if code, body, err := get(e.clientTLS(t, cert)); err == nil {
			t.Errorf("%s: HTTP API answered %d %s, want the handshake refused", name, code, body)
		}
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + e.srv.HTTPAddr() + "/api/v1/system-info")
	if err == nil {
		resp.Body.Close()
		require.NotEqual(t, http.StatusOK, resp.StatusCode, "plaintext HTTP answered")
	}
}

// Certificate files replaced on disk are served to new connections
// within refreshInterval, with no restart; clients keep working.
func TestTLSCertificateRotation(t *testing.T) {
	e := newMTLSEnv(t, 200*time.Millisecond)
	clientCert := e.clientCA.Client(t, "worker")
	serial := func() *big.Int {
		s, err := handshake(e.srv.FrontendAddr(), e.clientTLS(t, clientCert), []string{"h2"})
		if err != nil {
			return nil
		}
		return s
	}
	first := serial()
	require.NotNil(t, first, "handshake before rotation")
	rotated := e.serverCA.Server(t)
	rotated.WriteFiles(t, e.dir, "server")
	require.Eventually(t, func() bool {
		s := serial()
		return s != nil && s.Cmp(rotated.Cert.SerialNumber) == 0
	}, time.Minute, 50*time.Millisecond, "rotated certificate never served")

	ctx := testContext(t, time.Minute)
	c, err := e.dialSDK(ctx, e.clientTLS(t, clientCert))
	require.NoError(t, err, "SDK dial after rotation")
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	require.NoError(t, err)
}

// A config naming a certificate file that does not exist refuses to
// start, naming the key and the path.
func TestTLSMissingCertFileRefusesStart(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-cert.pem")
	_, keyFile := certtest.NewCA(t, "ca").Server(t).WriteFiles(t, dir, "server")
	text := "persistence:\n  defaultStore: db\n  datastores:\n    db:\n      sql: {pluginName: sqlite, databaseName: " +
		filepath.Join(dir, "sundial.db") + "}\n" +
		"global:\n  tls:\n    frontend:\n      server:\n        certFile: " + missing + "\n        keyFile: " + keyFile + "\n"
	path := filepath.Join(dir, "sundial.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	st, err := config.LoadFile(path)
	require.NoError(t, err)
	_, err = st.Check()
	require.NoError(t, err)
	cfg, err := server.FromStatic(st)
	require.NoError(t, err)
	cfg.Port, cfg.Logger = 0, slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.New(cfg)
	require.NoError(t, err)
	err = s.Start()
	if err == nil {
		s.Stop()
		t.Fatal("server started with a missing certificate file")
	}
	require.Contains(t, err.Error(), "global.tls.frontend.server.certFile")
	require.Contains(t, err.Error(), missing)
}

// handshake dials addr, completes the TLS handshake and reads until the
// server has either sent data or closed: with TLS 1.3 a refused client
// certificate shows only after the client's side of the handshake. It
// returns the server certificate's serial.
func handshake(addr string, cfg *tls.Config, alpn []string) (*big.Int, error) {
	cfg = cfg.Clone()
	cfg.NextProtos = alpn
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// A gRPC server speaks first (its HTTP/2 SETTINGS frame).
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "timeout") {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

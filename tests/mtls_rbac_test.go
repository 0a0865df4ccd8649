package tests

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/metadata"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/server"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// Client certificates are RBAC subjects: with mutual TLS and no JWT, a
// certificate whose CN is bound as reader (in the config) can list but not
// start, one whose SPIFFE URI SAN is bound as writer (granted at run time
// through the admin endpoint, as `sundial rbac grant`) can start, and an
// unbound one is denied — on gRPC and on the HTTP API, where the identity
// cannot be forged with a header.
func TestMTLSIdentityBindings(t *testing.T) {
	e := newMTLSEnvWith(t, 0, func(c *server.Config) {
		c.AdminAddress = "127.0.0.1:0"
		c.UI = &server.UIConfig{Address: "127.0.0.1:0"}
		c.Auth = server.AuthConfig{Enforce: true, RoleBindings: []auth.Binding{
			{Principal: "cert-cn:reader-svc", Namespace: testNamespace, Role: auth.RoleReader}}}
	})
	ctx := testContext(t, 2*time.Minute)
	spiffe, err := url.Parse("spiffe://example.org/ns/prod/sa/writer")
	require.NoError(t, err)
	readerCert := e.clientCA.Client(t, "reader-svc")
	writerCert := e.clientCA.ClientWithSANs(t, "writer-svc", []string{"writer.example.org"}, spiffe)
	strangerCert := e.clientCA.Client(t, "stranger")

	resp, err := adminRequest(e.srv, http.MethodPost, "/admin/rbac/grant?principal="+url.QueryEscape("cert-uri:"+spiffe.String())+
		"&namespace="+testNamespace+"&role=write")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	sdk := func(cert *certtest.Leaf) client.Client {
		t.Helper()
		c, err := e.dialSDK(ctx, e.clientTLS(t, cert))
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return c
	}
	start := func(c client.Client) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: uniqueName(t, "wf"), TaskQueue: "mtls-tq"}, "NoSuchWorkflow")
		return err
	}
	list := func(c client.Client) error {
		_, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace})
		return err
	}
	var denied *serviceerror.PermissionDenied

	reader, writer, stranger := sdk(readerCert), sdk(writerCert), sdk(strangerCert)
	require.NoError(t, list(reader), "reader lists")
	require.ErrorAs(t, start(reader), &denied, "reader starts")
	require.NoError(t, start(writer), "writer starts")
	require.ErrorAs(t, list(stranger), &denied, "unbound certificate lists")
	// The HTTP API's in-process identity key, sent on a real connection,
	// is not believed.
	forged := metadata.AppendToOutgoingContext(ctx, auth.InProcessCertKey, "cert-uri:"+spiffe.String())
	_, err = stranger.WorkflowService().ListWorkflowExecutions(forged, &workflowservice.ListWorkflowExecutionsRequest{Namespace: testNamespace})
	require.ErrorAs(t, err, &denied, "forged identity metadata on gRPC")

	// The HTTP API.
	base := "https://" + e.srv.HTTPAddr()
	do := func(cert *certtest.Leaf, method, path, body string, header http.Header) int {
		t.Helper()
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: e.clientTLS(t, cert)}}
		defer hc.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	listPath := "/api/v1/namespaces/" + testNamespace + "/workflows"
	startBody := `{"workflowType":{"name":"NoSuchWorkflow"},"taskQueue":{"name":"mtls-tq"}}`
	startPath := func() string { return "/api/v1/namespaces/" + testNamespace + "/workflows/" + uniqueName(t, "http") }
	require.Equal(t, http.StatusOK, do(readerCert, "GET", listPath, "", nil), "reader lists over HTTP")
	require.Equal(t, http.StatusForbidden, do(readerCert, "POST", startPath(), startBody, nil), "reader starts over HTTP")
	require.Equal(t, http.StatusOK, do(writerCert, "POST", startPath(), startBody, nil), "writer starts over HTTP")
	require.Equal(t, http.StatusForbidden, do(strangerCert, "GET", listPath, "", nil), "unbound certificate lists over HTTP")
	forgedHeader := http.Header{http.CanonicalHeaderKey("Grpc-Metadata-" + auth.InProcessCertKey): {"cert-uri:" + spiffe.String()}}
	require.Equal(t, http.StatusForbidden, do(strangerCert, "GET", listPath, "", forgedHeader), "forged identity header over HTTP")

	// The Web UI is served in the frontend's TLS, calls the frontend in
	// process and acts with the browser's certificate.
	require.True(t, strings.HasPrefix(e.srv.UIURL(), "https://"), e.srv.UIURL())
	base = e.srv.UIURL()
	require.Equal(t, http.StatusOK, do(readerCert, "GET", listPath, "", nil), "reader lists through the UI")
	require.Equal(t, http.StatusForbidden, do(strangerCert, "GET", listPath, "", nil), "unbound certificate lists through the UI")
	require.Equal(t, http.StatusForbidden, do(strangerCert, "GET", listPath, "", forgedHeader), "forged identity header through the UI")
	plain, err := (&http.Client{Timeout: 30 * time.Second}).Get(strings.Replace(base, "https://", "http://", 1) + listPath)
	if err == nil {
		_ = plain.Body.Close()
		require.NotEqual(t, http.StatusOK, plain.StatusCode, "plaintext HTTP to the UI answered")
	}
}

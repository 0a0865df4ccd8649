package tests

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sundialhq/sundial/internal/server"
)

// readAuthzMatrix reads tests/testdata/authz_matrix.txt: a header of
// principal names, then per API a + (allowed) or - (denied) for each.
func readAuthzMatrix(t *testing.T) (principals []string, want map[string][]bool) {
	t.Helper()
	f, err := os.Open("testdata/authz_matrix.txt")
	require.NoError(t, err)
	defer f.Close()
	want = map[string][]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 2 && fields[0] == "#" && fields[1] == "API" {
			principals = fields[2:]
			continue
		}
		if len(fields) == 0 || fields[0] == "#" {
			continue
		}
		require.Len(t, fields, len(principals)+1, "matrix row %q", sc.Text())
		for _, v := range fields[1:] {
			want[fields[0]] = append(want[fields[0]], v == "+")
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, principals)
	return principals, want
}

// minimalRequest is an empty request for method with its namespace set,
// if it has one.
func minimalRequest(t *testing.T, md protoreflect.MethodDescriptor, ns string) (req, resp proto.Message) {
	t.Helper()
	in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	require.NoError(t, err)
	out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	require.NoError(t, err)
	m := in.New()
	if f := m.Descriptor().Fields().ByName("namespace"); f != nil && f.Kind() == protoreflect.StringKind {
		m.Set(f, protoreflect.ValueOfString(ns))
	}
	return m.Interface(), out.New().Interface()
}

// TestAuthorizationMatrix calls every unary API of WorkflowService and
// OperatorService with a minimal request as each principal (no token; a
// reader, writer, worker and admin of the target namespace; the same roles
// cluster-wide) and compares allowed (any code but PermissionDenied) with
// the reference's default authorizer table in testdata.
func TestAuthorizationMatrix(t *testing.T) {
	env := newAuthEnv(t, nil)
	cc := env.conn(t)
	principals, want := readAuthzMatrix(t)
	tokens := map[string]string{}
	for _, p := range principals {
		scope, role, ok := strings.Cut(p, ":")
		if !ok {
			continue // no token
		}
		ns := map[string]string{"ns": authzNamespace, "sys": "temporal-system"}[scope]
		tokens[p] = env.iss.token(t, jwt.MapClaims{"sub": p, "permissions": []string{ns + ":" + role}})
	}
	services := []protoreflect.ServiceDescriptor{
		workflowservice.File_temporal_api_workflowservice_v1_service_proto.Services().Get(0),
		operatorservice.File_temporal_api_operatorservice_v1_service_proto.Services().Get(0),
	}
	seen := 0
	var mismatches []string
	for _, sd := range services {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if md.IsStreamingClient() || md.IsStreamingServer() {
				continue
			}
			name := string(sd.Name()) + "/" + string(md.Name())
			row, ok := want[name]
			require.True(t, ok, "API %s is missing from testdata/authz_matrix.txt", name)
			seen++
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			for j, p := range principals {
				req, resp := minimalRequest(t, md, authzNamespace)
				ctx, cancel := context.WithTimeout(withToken(context.Background(), tokens[p]), 5*time.Second)
				err := cc.Invoke(ctx, full, req, resp)
				cancel()
				allowed := status.Code(err) != codes.PermissionDenied
				if allowed != row[j] {
					mismatches = append(mismatches, fmt.Sprintf("%s as %s: allowed=%v want %v (%v)", name, p, allowed, row[j], err))
				}
				if !allowed {
					require.Equal(t, "Request unauthorized.", status.Convert(err).Message(), "%s as %s", name, p)
				}
			}
		}
	}
	require.Equal(t, len(want), seen, "matrix rows without an API")
	require.Empty(t, mismatches)

	// The health check is open to everyone.
	_, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
}

// TestJWTHardening: tokens that are unsigned, HMAC-signed (with the public
// key as the secret), signed by an unknown key or key ID, expired, with a
// broken signature or for another audience are each refused
// (PermissionDenied "Request unauthorized."); a well-formed ES256 token
// with the same claims is accepted. A principal header sent beside a token
// changes nothing.
func TestJWTHardening(t *testing.T) {
	env := newAuthEnv(t, func(c *server.Config) { c.Auth.Audience = "sundial" })
	cc := env.conn(t)
	wf := workflowservice.NewWorkflowServiceClient(cc)
	admin := jwt.MapClaims{"sub": "mallory", "permissions": []string{"temporal-system:admin"}, "aud": "sundial"}
	good := env.iss.token(t, cloneClaims(admin))

	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	sign := func(m jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	withExp := func(c jwt.MapClaims, exp time.Time) jwt.MapClaims {
		c = cloneClaims(c)
		c["exp"] = exp.Unix()
		return c
	}
	later := time.Now().Add(time.Hour)
	bad := map[string]string{
		"alg none":      sign(jwt.SigningMethodNone, "rsa1", jwt.UnsafeAllowNoneSignatureType, withExp(admin, later)),
		"HS256":         sign(jwt.SigningMethodHS256, "rsa1", publicKeyBytes(t, env.iss), withExp(admin, later)),
		"unknown kid":   sign(jwt.SigningMethodRS256, "nope", env.iss.rsaKey, withExp(admin, later)),
		"no kid":        sign(jwt.SigningMethodRS256, "", env.iss.rsaKey, withExp(admin, later)),
		"other key":     sign(jwt.SigningMethodRS256, "rsa1", otherRSA, withExp(admin, later)),
		"expired":       env.iss.token(t, withExp(admin, time.Now().Add(-time.Minute))),
		"bad signature": good[:len(good)-4] + flip(good[len(good)-4:]),
		"wrong audience": env.iss.token(t, func() jwt.MapClaims {
			c := cloneClaims(admin)
			c["aud"] = "someone-else"
			return c
		}()),
		"no audience": env.iss.token(t, func() jwt.MapClaims {
			c := cloneClaims(admin)
			delete(c, "aud")
			return c
		}()),
		"not bearer": "",
	}
	for name, tok := range bad {
		ctx := withToken(context.Background(), tok)
		if name == "not bearer" {
			ctx = metadataCtx("authorization", "Basic "+good)
		}
		_, err := wf.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "%s: %v", name, err)
		require.Equal(t, "Request unauthorized.", status.Convert(err).Message(), name)
	}
	_, err = wf.ListNamespaces(withToken(context.Background(), good), &workflowservice.ListNamespacesRequest{})
	require.NoError(t, err, "RS256 token")
	es := sign(jwt.SigningMethodES256, "ec1", env.iss.ecKey, withExp(admin, later))
	_, err = wf.ListNamespaces(withToken(context.Background(), es), &workflowservice.ListNamespacesRequest{})
	require.NoError(t, err, "ES256 token")

	// Principal headers are not identities.
	ctx := metadataCtx("authorization-extras", "temporal-system:admin", "temporal-principal", "admin")
	_, err = wf.ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	// GetSystemInfo stays open, even with a bad token.
	_, err = wf.GetSystemInfo(withToken(context.Background(), bad["expired"]), &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err)
}

func cloneClaims(c jwt.MapClaims) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	return out
}

// flip changes every character of s (a signature tail).
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func publicKeyBytes(t *testing.T, iss *issuer) []byte {
	t.Helper()
	return iss.rsaKey.PublicKey.N.Bytes()
}

// TestAuthorizationHTTPAPI: the HTTP API goes through the same checks:
// no token is 403 with the gRPC status in JSON, a reader's token reads,
// and the audit log records the caller's HTTP address for a write.
func TestAuthorizationHTTPAPI(t *testing.T) {
	env := newAuthEnv(t, func(c *server.Config) {
		c.HTTPAddress = "127.0.0.1:0"
		c.AdminAddress = "127.0.0.1:0"
		c.Audit = server.AuditConfig{Enabled: true}
	})
	base := "http://" + env.server.HTTPAddr() + "/api/v1/namespaces/" + authzNamespace
	get := func(token string) int {
		req, err := http.NewRequest(http.MethodGet, base, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusForbidden {
			require.Contains(t, string(body), "Request unauthorized.")
		}
		return resp.StatusCode
	}
	require.Equal(t, http.StatusForbidden, get(""))
	reader := env.iss.token(t, jwt.MapClaims{"sub": "r", "permissions": []string{authzNamespace + ":read"}})
	require.Equal(t, http.StatusOK, get(reader))

	req, err := http.NewRequest(http.MethodPost, base+"/workflows/http-wf/terminate", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+reader)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	entries := auditEntries(t, env, "")
	require.Len(t, entries, 1)
	require.Equal(t, "TerminateWorkflowExecution", entries[0].API)
	require.Equal(t, "r", entries[0].Subject)
	require.Equal(t, "127.0.0.1", entries[0].Source, "the HTTP caller's address (grpc-gateway gives the host only)")
}

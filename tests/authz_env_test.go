package tests

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/server"
)

// issuer is a test identity provider: an RSA and an EC signing key whose
// public halves it serves as a JWKS document on 127.0.0.1.
type issuer struct {
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey
	srv    *httptest.Server

	mu      sync.Mutex
	fetches int
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	iss := &issuer{rsaKey: rk, ecKey: ek}
	iss.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		iss.mu.Lock()
		iss.fetches++
		iss.mu.Unlock()
		b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
		keys := []map[string]string{
			{"kid": "rsa1", "kty": "RSA", "alg": "RS256", "use": "sig", "n": b64(rk.N.Bytes()),
				"e": b64(big.NewInt(int64(rk.E)).Bytes())},
			{"kid": "ec1", "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
				"x": b64(ek.X.FillBytes(make([]byte, 32))), "y": b64(ek.Y.FillBytes(make([]byte, 32)))},
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *issuer) jwksURL() string { return iss.srv.URL + "/jwks.json" }

// token signs claims with the RSA key (kid rsa1), adding a one-hour expiry
// when claims have none.
func (iss *issuer) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "rsa1"
	s, err := tok.SignedString(iss.rsaKey)
	require.NoError(t, err)
	return s
}

// authEnv is a server with JWT authorization on.
type authEnv struct {
	addr   string
	server *server.Server
	cfg    server.Config
	iss    *issuer
	logs   *lockedBuffer
}

const authzNamespace = "authz-ns"

// newAuthEnv starts a server with `authorizer: default` trusting iss's
// keys, with namespaces default and authz-ns. tweak may change the config.
func newAuthEnv(t *testing.T, tweak func(*server.Config)) *authEnv {
	t.Helper()
	iss := newIssuer(t)
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, dbFile := testBackend(t)
	cfg := server.Config{
		IP: "127.0.0.1", DBFilename: dbFile, Store: store, NumShards: 2,
		Namespaces:    []string{testNamespace, authzNamespace},
		DynamicConfig: config.NewDynamic(nil),
		Logger:        logger,
		Auth:          server.AuthConfig{KeySourceURIs: []string{iss.jwksURL()}},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	return &authEnv{addr: s.FrontendAddr(), server: s, cfg: cfg, iss: iss, logs: logs}
}

// restart stops the server and starts another on the same database (and
// the same admin address, if any).
func (e *authEnv) restart(t *testing.T) {
	t.Helper()
	cfg := e.cfg
	if cfg.AdminAddress != "" {
		cfg.AdminAddress = e.server.AdminAddr()
	}
	e.server.Stop()
	s, err := server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	e.server, e.addr = s, s.FrontendAddr()
}

// sdkClient dials an SDK client sending token as its bearer credential.
func (e *authEnv) sdkClient(t *testing.T, namespace, token string) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: e.addr, Namespace: namespace,
		HeadersProvider: bearer(token), Logger: quietSDKLogger()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// adminGet GETs path from the admin endpoint and decodes the JSON answer.
func (e *authEnv) adminGet(t *testing.T, path string, into any) {
	t.Helper()
	resp, err := adminRequest(e.server, http.MethodGet, path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
}

// adminPost POSTs to path on the admin endpoint and returns the status.
func (e *authEnv) adminPost(t *testing.T, path string) int {
	t.Helper()
	resp, err := adminRequest(e.server, http.MethodPost, path)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// adminRequest sends a request with the admin endpoint's token.
func adminRequest(s *server.Server, method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://"+s.AdminAddr()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.AdminToken())
	return http.DefaultClient.Do(req)
}

// conn dials the frontend with raw gRPC.
func (e *authEnv) conn(t *testing.T) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// withToken returns ctx carrying "authorization: Bearer token" (none when
// token is empty).
func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// metadataCtx is a background context sending the header pairs kv.
func metadataCtx(kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), kv...)
}

// bearer sends "authorization: Bearer token" on every SDK call.
type bearer string

func (b bearer) GetHeaders(context.Context) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

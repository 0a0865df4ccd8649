package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const wf = workflowServicePrefix

func TestAuthorize(t *testing.T) {
	ns := func(r Role) *Claims { return &Claims{Namespaces: map[string]Role{"a": r}} }
	sys := func(r Role) *Claims { return &Claims{System: r} }
	for _, c := range []struct {
		claims    *Claims
		method    string
		namespace string
		want      bool
	}{
		{nil, HealthCheckMethod, "", true},
		{nil, GetSystemInfoMethod, "", true},
		{nil, wf + "DescribeNamespace", "a", false},
		{&Claims{}, wf + "DescribeNamespace", "a", false},
		{ns(RoleReader), wf + "DescribeNamespace", "a", true},
		{ns(RoleReader), wf + "DescribeNamespace", "b", false},
		{ns(RoleReader), wf + "StartWorkflowExecution", "a", false},
		{ns(RoleWriter), wf + "StartWorkflowExecution", "a", true},
		{ns(RoleWorker), wf + "PollWorkflowTaskQueue", "a", false}, // as the reference: worker alone < reader
		{ns(RoleWorker | RoleReader), wf + "DescribeNamespace", "a", true},
		{ns(RoleWriter), wf + "UpdateNamespace", "a", false},
		{ns(RoleAdmin), wf + "UpdateNamespace", "a", true},
		{ns(RoleAdmin), wf + "ListNamespaces", "", false}, // cluster scope needs a cluster role
		{sys(RoleReader), wf + "ListNamespaces", "", true},
		{sys(RoleReader), wf + "StartWorkflowExecution", "a", false},
		{sys(RoleWriter), wf + "StartWorkflowExecution", "any", true},
		{sys(RoleWriter), operatorServicePrefix + "AddSearchAttributes", "a", false},
		{sys(RoleAdmin), operatorServicePrefix + "ListClusters", "", true},
		{sys(RoleAdmin), wf + "NoSuchMethod", "a", false},
	} {
		if got := Authorize(c.claims, c.method, c.namespace); got != c.want {
			t.Errorf("Authorize(%+v, %s, %q) = %v, want %v", c.claims, c.method, c.namespace, got, c.want)
		}
	}
}

type staticKeys map[string]any

func (k staticKeys) Key(kid string) (any, bool) { v, ok := k[kid]; return v, ok }

func TestJWTMapperClaims(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := NewJWTMapper(JWTMapperOptions{Keys: staticKeys{"k": &key.PublicKey}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "k"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	c, err := m.Claims(sign(jwt.MapClaims{"sub": "u", "groups": []any{"g1", 3}, "exp": now.Add(time.Minute).Unix(),
		"permissions": []any{"temporal-system:read", "ns1:write", "ns1:worker", "ns2:bogus", "nocolon", 7}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "u" || c.System != RoleReader || c.Namespaces["ns1"] != RoleWriter|RoleWorker || c.Namespaces["ns2"] != 0 ||
		len(c.Groups) != 1 || c.Groups[0] != "g1" {
		t.Errorf("claims = %+v", c)
	}
	if _, err := m.Claims(sign(jwt.MapClaims{"sub": "u", "exp": now.Add(-time.Second).Unix()})); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	if _, err := m.Claims(sign(jwt.MapClaims{"sub": 5})); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("non-string sub: %v", err)
	}
	if c, err := m.Claims(""); err != nil || c.System != 0 || len(c.Namespaces) != 0 {
		t.Errorf("no token: %+v, %v", c, err)
	}
	re, err := NewJWTMapper(JWTMapperOptions{Keys: staticKeys{}, PermissionsRegex: `^(?P<role>\w+)@(?P<namespace>[\w-]+)$`})
	if err != nil {
		t.Fatal(err)
	}
	if ns, role, ok := re.permission("admin@prod"); !ok || ns != "prod" || role != "admin" {
		t.Errorf("regex permission = %q %q %v", ns, role, ok)
	}
	if _, err := NewJWTMapper(JWTMapperOptions{Keys: staticKeys{}, PermissionsRegex: `(\w+):(\w+)`}); err == nil {
		t.Error("a regex without named groups is accepted")
	}
}

func TestParseJWKS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kid": "r", "kty": "RSA", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())},
		{"kid": "enc", "kty": "RSA", "use": "enc", "n": b64(key.N.Bytes()), "e": "AQAB"},
		{"kid": "oct", "kty": "oct", "k": "c2VjcmV0"},
		{"kty": "RSA", "n": b64(key.N.Bytes()), "e": "AQAB"},
	}})
	keys, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys["r"] == nil {
		t.Errorf("keys = %v, want only r", keys)
	}
	bad, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kid": "e", "kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ"}}})
	if _, err := ParseJWKS(bad); err == nil {
		t.Error("an EC point off the curve is accepted")
	}
	small, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kid": "s", "kty": "RSA", "n": "AQAB", "e": "AQAB"}}})
	if _, err := ParseJWKS(small); err == nil {
		t.Error("a tiny RSA key is accepted")
	}
}

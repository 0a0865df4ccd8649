package server

import (
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/config"
)

func TestFromStaticAuthorizationAndAudit(t *testing.T) {
	const store = "persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}\n"
	parse := func(text string) *config.Static {
		t.Helper()
		st, err := config.Parse("t.yaml", []byte(store+text), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		return st
	}
	cfg, err := FromStatic(parse(`
global:
  authorization:
    jwtKeyProvider: {keySourceURIs: ["", "https://idp/jwks"], refreshInterval: 5m}
    authorizer: default
    claimMapper: default
    audience: aud
    roleBindings: [{principal: "group:sre", namespace: temporal-system, role: admin}]
audit: {enabled: true, reads: true, retention: 48h}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Auth
	if !a.Enabled() || len(a.KeySourceURIs) != 1 || a.RefreshInterval != 5*time.Minute || a.Audience != "aud" ||
		len(a.RoleBindings) != 1 || a.RoleBindings[0] != (auth.Binding{Principal: "group:sre", Namespace: "temporal-system", Role: auth.RoleAdmin}) {
		t.Errorf("Auth = %+v", a)
	}
	if cfg.Audit != (AuditConfig{Enabled: true, Reads: true, Retention: 48 * time.Hour}) {
		t.Errorf("Audit = %+v", cfg.Audit)
	}
	if cfg, err := FromStatic(parse("global: {authorization: {authorizer: \"\"}}")); err != nil || cfg.Auth.Enabled() {
		t.Errorf("no authorizer: %+v, %v", cfg.Auth, err)
	}
	for text, want := range map[string]string{
		"global: {authorization: {authorizer: default, claimMapper: default, jwtKeyProvider: {keySourceURIs: [u]}, " +
			"roleBindings: [{principal: bob, namespace: n, role: read}]}}": "roleBindings[0]",
		"audit: {reads: true}":                   "audit.enabled",
		"audit: {enabled: true, retention: -1h}": "audit.retention",
	} {
		if _, err := FromStatic(parse(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FromStatic(%s) = %v, want an error naming %s", text, err, want)
		}
	}
}

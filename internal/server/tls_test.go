package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// The API is not served on a non-loopback address without authorization
// unless the operator allows it; loopback needs nothing. Only Validate
// runs: nothing is bound.
func TestCheckExposure(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = accepted
	}{
		{"default loopback", Config{}, ""},
		{"IPv6 loopback", Config{IP: "::1"}, ""},
		{"all interfaces", Config{IP: "0.0.0.0"}, "refusing to serve the gRPC API on 0.0.0.0"},
		{"public IP", Config{IP: "192.0.2.1"}, "gRPC API on 192.0.2.1"},
		{"IPv6 any", Config{IP: "::"}, "--allow-no-auth"},
		{"HTTP API public", Config{HTTPAddress: "0.0.0.0:7243"}, "HTTP API on 0.0.0.0"},
		{"HTTP API localhost", Config{HTTPAddress: "localhost:7243"}, ""},
		{"allowed by flag", Config{IP: "0.0.0.0", HTTPAddress: "0.0.0.0:7243", AllowNoAuth: true}, ""},
		{"authorization without keys", Config{IP: "0.0.0.0", Auth: AuthConfig{PermissionsClaimName: "p"}}, "gRPC API"},
		{"JWT keys configured", Config{IP: "0.0.0.0", Auth: AuthConfig{KeySourceURIs: []string{"https://k"}}}, ""},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), "global.authorization.allowNoAuth")) {
			t.Errorf("%s: %v, want a refusal containing %q", tc.name, err, tc.want)
		}
	}
}

// global.tls, global.authorization and allowNoAuth reach the Config.
func TestFromStaticSecurity(t *testing.T) {
	const text = "persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: d}}}}\n" +
		"global: {tls: {refreshInterval: 30s, frontend: {server: {certFile: c, keyFile: k, requireClientAuth: true}}}, " +
		"authorization: {allowNoAuth: true}}\n" +
		"services: {frontend: {rpc: {bindOnIP: 0.0.0.0}}}\n"
	st, err := config.Parse("t.yaml", []byte(text), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromStatic(st)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FrontendTLS.Server.CertFile != "c" || !cfg.FrontendTLS.Server.RequireClientAuth ||
		cfg.TLSRefreshInterval.String() != "30s" || !cfg.AllowNoAuth {
		t.Errorf("FromStatic: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate with allowNoAuth: %v", err)
	}
	cfg.AllowNoAuth = false
	if err := cfg.Validate(); err == nil {
		t.Error("Validate without allowNoAuth on 0.0.0.0: accepted")
	}
}

// A missing certificate file refuses the start, naming the key and the
// path, before the database is opened.
func TestStartRefusesMissingCertFile(t *testing.T) {
	dir := t.TempDir()
	_, keyFile := certtest.NewCA(t, "ca").Server(t).WriteFiles(t, dir, "server")
	missing := filepath.Join(dir, "missing.pem")
	db := filepath.Join(dir, "sundial.db")
	s, err := New(Config{Logger: quiet, DBFilename: db,
		FrontendTLS: config.GroupTLS{Server: config.ServerTLS{CertFile: missing, KeyFile: keyFile}}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start()
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded with a missing certificate file")
	}
	for _, want := range []string{"global.tls.frontend.server.certFile", missing} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start: %v, want it to name %s", err, want)
		}
	}
	if matches, _ := filepath.Glob(db + "*"); len(matches) > 0 {
		t.Errorf("database created before the refusal: %v", matches)
	}
}

// The example config of docs/SECURITY.md is accepted as it stands: it
// parses, passes Check, and its Config validates (its certificate files
// are not there, so it is not started).
func TestSecurityDocExampleConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.LastIndex(text, "```yaml\n")
	if start < 0 {
		t.Fatal("no yaml example in docs/SECURITY.md")
	}
	text = text[start+len("```yaml\n"):]
	text = text[:strings.Index(text, "```")]
	st, err := config.Parse("SECURITY.md", []byte(text), func(string) (string, bool) { return "secret", true })
	if err != nil {
		t.Fatal(err)
	}
	if unused, err := st.Check(); err != nil || len(unused) > 0 {
		t.Fatalf("Check: unused %q, err %v", unused, err)
	}
	cfg, err := FromStatic(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.FrontendTLS.Server.RequireClientAuth || len(cfg.FrontendTLS.HostOverrides) != 1 || cfg.HTTPAddress == "" ||
		!cfg.Auth.Enabled() || !cfg.Audit.Enabled {
		t.Errorf("example config: %+v", cfg)
	}
}

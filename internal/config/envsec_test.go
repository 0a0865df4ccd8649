package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func withVars(base map[string]string, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var sqliteEnv = map[string]string{"DB": "sqlite", "SQLITE_FILE": "x.db"}

// The docker template's frontend TLS and JWT variables become
// global.tls.frontend and global.authorization.
func TestFromEnvMapsSecurityVars(t *testing.T) {
	st, err := FromEnv(lookupFrom(withVars(sqliteEnv, map[string]string{
		"TEMPORAL_TLS_FRONTEND_CERT": "/c.pem", "TEMPORAL_TLS_FRONTEND_KEY": "/k.pem",
		"TEMPORAL_TLS_CLIENT1_CA_CERT": "/ca1.pem", "TEMPORAL_TLS_CLIENT2_CA_CERT_DATA": "Q0E=",
		"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH": "true", "TEMPORAL_TLS_REFRESH_INTERVAL": "5m",
		"TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION": "false",
		"TEMPORAL_AUTH_AUTHORIZER":                        "default", "TEMPORAL_AUTH_CLAIM_MAPPER": "default",
		"TEMPORAL_JWT_KEY_SOURCE1": "https://idp/jwks.json", "TEMPORAL_JWT_KEY_SOURCE2": "https://idp2/jwks.json",
		"TEMPORAL_JWT_KEY_REFRESH": "30s", "TEMPORAL_JWT_PERMISSIONS_CLAIM": "perms",
	})))
	if err != nil {
		t.Fatal(err)
	}
	s := st.Global.TLS.Frontend.Server
	if s.CertFile != "/c.pem" || s.KeyFile != "/k.pem" || !s.RequireClientAuth ||
		strings.Join(s.ClientCAFiles, ",") != "/ca1.pem" || strings.Join(s.ClientCAData, ",") != "Q0E=" {
		t.Errorf("frontend TLS %+v", s)
	}
	if time.Duration(st.Global.TLS.RefreshInterval) != 5*time.Minute {
		t.Errorf("refreshInterval %v", st.Global.TLS.RefreshInterval)
	}
	a := st.Global.Authorization
	if a == nil || !a.Enabled() || a.ClaimMapper != "default" || a.PermissionsClaimName != "perms" ||
		strings.Join(a.KeySources(), " ") != "https://idp/jwks.json https://idp2/jwks.json" ||
		time.Duration(a.JWTKeyProvider.RefreshInterval) != 30*time.Second {
		t.Errorf("authorization %+v", a)
	}
	if _, err := st.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// Variables for settings Sundial cannot honour refuse the start, each
// named; bad values of mapped ones too.
func TestFromEnvRefusesSecurityVars(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"TEMPORAL_TLS_SERVER_CERT": "/s.pem", "TEMPORAL_TLS_INTERNODE_SERVER_NAME": "x"},
			[]string{"TEMPORAL_TLS_SERVER_CERT", "TEMPORAL_TLS_INTERNODE_SERVER_NAME", "internode"}},
		{map[string]string{"TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION": "true"},
			[]string{"TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION"}},
		{map[string]string{"TEMPORAL_TLS_SYSTEM_WORKER_CERT": "/w.pem"}, []string{"TEMPORAL_TLS_SYSTEM_WORKER_CERT", "systemWorker"}},
		{map[string]string{"TEMPORAL_TLS_EXPIRATION_CHECKS_WARNING_WINDOW": "72h"}, []string{"TEMPORAL_TLS_EXPIRATION_CHECKS_WARNING_WINDOW"}},
		{map[string]string{"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH": "yes please"}, []string{"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"}},
		{map[string]string{"TEMPORAL_JWT_KEY_REFRESH": "soon"}, []string{"TEMPORAL_JWT_KEY_REFRESH"}},
	} {
		_, err := FromEnv(lookupFrom(withVars(sqliteEnv, tc.vars)))
		if err == nil {
			t.Errorf("%v: FromEnv succeeded", tc.vars)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", tc.vars, err, w)
			}
		}
	}
}

// Mapped variables go through the same checks as the file's keys: a
// half-set authorization is refused at Load.
func TestLoadEnvSecurityChecked(t *testing.T) {
	_, err := Load(Location{Dir: t.TempDir(), Env: "development"}, lookupFrom(withVars(sqliteEnv,
		map[string]string{"TEMPORAL_AUTH_AUTHORIZER": "default", "TEMPORAL_AUTH_CLAIM_MAPPER": "default"})))
	if err == nil || !strings.Contains(err.Error(), "keySourceURIs") {
		t.Fatalf("Load: %v", err)
	}
}

// With a config file, a security variable the file does not read is
// refused even when the file was chosen explicitly (other docker
// variables are only a warning then).
func TestLoadFileRefusesUnreadSecurityVars(t *testing.T) {
	dir := configDir(t)
	_, err := Load(Location{File: filepath.Join(dir, "development.yaml")},
		lookupFrom(map[string]string{"TEMPORAL_TLS_FRONTEND_CERT": "/c.pem", "TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION": "false"}))
	if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_FRONTEND_CERT") ||
		strings.Contains(err.Error(), "DISABLE_HOST_VERIFICATION") {
		t.Fatalf("Load: %v", err)
	}
}

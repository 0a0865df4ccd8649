package config

import (
	"strings"
	"testing"
)

// The docker template's defaults are accepted; what Sundial does not use
// is named in the warning list, nothing else is.
func TestCheckDockerTemplate(t *testing.T) {
	st, err := Parse("docker.yaml", dockerTemplate(t), lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	unused, err := st.Check()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(unused, "; ")
	// services.history.rpc.grpcPort places history's internal listener
	// (used when roles run in separate processes): not unused.
	for _, want := range []string{"services.frontend.rpc.membershipPort", "global.membership.maxJoinDuration",
		"archival", "publicClient.hostPort"} {
		if !strings.Contains(got, want) {
			t.Errorf("unused = %q, want it to name %s", got, want)
		}
	}
	for _, not := range []string{"clusterMetadata", "dcRedirectionPolicy", "authorization", "tls", "metrics"} {
		if strings.Contains(got, not) {
			t.Errorf("unused = %q names %s, which is at its default", got, not)
		}
	}
	st, err = Parse("docker.yaml", dockerTemplate(t), lookupFrom(map[string]string{
		"ENABLE_ES": "true", "PROMETHEUS_ENDPOINT": "127.0.0.1:9090", "PROMETHEUS_TIMER_TYPE": "summary"}))
	if err != nil {
		t.Fatal(err)
	}
	unused, err = st.Check()
	got = strings.Join(unused, "; ")
	for _, want := range []string{"persistence.advancedVisibilityStore", "persistence.datastores.es-visibility",
		"global.metrics.prometheus.timerType"} {
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("unused = %q (%v), want it to name %s", got, err, want)
		}
	}
}

// The docker template's security variables: frontend TLS passes Check
// (the server loads and checks the files); an authorization setting that
// would not be enforced as written is refused, naming the key.
func TestCheckDockerSecurityVars(t *testing.T) {
	for env, want := range map[string]string{
		"TEMPORAL_TLS_FRONTEND_CERT":       "",
		"TEMPORAL_TLS_CLIENT1_CA_CERT":     "",
		"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH": "",
		"TEMPORAL_AUTH_AUTHORIZER":         "global.authorization.authorizer",
		"TEMPORAL_JWT_KEY_SOURCE1":         "global.authorization.jwtKeyProvider.keySourceURIs",
	} {
		st, err := Parse("docker.yaml", dockerTemplate(t), lookupFrom(map[string]string{env: "true"}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Check()
		if want == "" && err != nil {
			t.Errorf("%s set: Check() = %v, want no refusal", env, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s set: Check() = %v, want a refusal naming %s", env, err, want)
		}
	}
}

// TLS settings for connections Sundial does not make yet are refused,
// naming the key; the frontend's serving side is accepted.
func TestCheckTLS(t *testing.T) {
	for yaml, want := range map[string]string{
		"frontend: {server: {certFile: c, keyFile: k, clientCaFiles: [a], requireClientAuth: true}, " +
			"hostOverrides: {x: {certFile: c}}}\n    refreshInterval: 1m": "",
		"internode: {server: {certFile: c, keyFile: k}, client: {rootCaFiles: [r]}}": "",
		"frontend: {client: {serverName: s}}":                                        "global.tls.frontend.client.serverName: not supported yet",
		"frontend: {client: {rootCaData: [r]}}":                                      "global.tls.frontend.client.rootCaData",
		"systemWorker: {certFile: c}":                                                "global.tls.systemWorker: not supported yet",
		"systemWorker: {client: {forceTLS: true}}":                                   "global.tls.systemWorker",
		"remoteClusters: {b: {server: {keyFile: k}}}":                                "global.tls.remoteClusters.b.server.keyFile",
		"expirationChecks: {warningWindow: 1h}":                                      "global.tls.expirationChecks",
	} {
		st, err := Parse("c.yaml", []byte("global:\n  tls:\n    "+yaml+"\n"), lookupFrom(nil))
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		_, err = st.Check()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: Check() = %v, want no refusal", yaml, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: Check() = %v, want a refusal containing %q", yaml, err, want)
		}
	}
}

// Authorization settings that would not be enforced as written are
// refused naming the key; the complete JWT setup is accepted.
func TestCheckAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Authorization
		want string // "" = accepted
	}{
		{"complete", Authorization{Authorizer: "default", ClaimMapper: "default",
			JWTKeyProvider: JWTKeyProvider{KeySourceURIs: []string{"https://idp/jwks"}}, Audience: "sundial"}, ""},
		{"none", Authorization{PermissionsClaimName: "permissions", JWTKeyProvider: JWTKeyProvider{KeySourceURIs: []string{""}}}, ""},
		{"unknown authorizer", Authorization{Authorizer: "opa"}, "global.authorization.authorizer"},
		{"unknown mapper", Authorization{ClaimMapper: "custom"}, "global.authorization.claimMapper"},
		{"authorizer without mapper", Authorization{Authorizer: "default",
			JWTKeyProvider: JWTKeyProvider{KeySourceURIs: []string{"https://idp/jwks"}}}, "claimMapper"},
		{"no keys", Authorization{Authorizer: "default", ClaimMapper: "default"}, "keySourceURIs"},
		{"keys without authorizer", Authorization{JWTKeyProvider: JWTKeyProvider{KeySourceURIs: []string{"https://idp/jwks"}}},
			"global.authorization.jwtKeyProvider.keySourceURIs"},
		{"audience without authorizer", Authorization{Audience: "x"}, "global.authorization.audience"},
		{"certificates only", Authorization{Authorizer: "default", ClaimMapper: "default"}, ""},
		{"certificates only with audience", Authorization{Authorizer: "default", ClaimMapper: "default", Audience: "x"}, "audience"},
	} {
		st := &Static{}
		st.Global.Authorization = &tc.a
		if strings.HasPrefix(tc.name, "certificates only") {
			st.Global.TLS.Frontend.Server.RequireClientAuth = true
		}
		_, err := st.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Check() = %v, want accepted", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Check() = %v, want a refusal naming %s", tc.name, err, tc.want)
		}
	}
	st, err := Parse("docker.yaml", dockerTemplate(t), lookupFrom(map[string]string{"TEMPORAL_JWT_KEY_SOURCE1": "https://idp/jwks"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Check(); err == nil || !strings.Contains(err.Error(), "keySourceURIs") {
		t.Errorf("docker template with only TEMPORAL_JWT_KEY_SOURCE1: Check() = %v, want a refusal", err)
	}
}

// The repository's sample configs start without warnings or refusals.
func TestCheckSampleConfigs(t *testing.T) {
	for _, name := range []string{"development", "postgres", "mysql"} {
		st, err := LoadFile(EnvFile("../../config", name))
		if err != nil {
			t.Fatal(err)
		}
		if unused, err := st.Check(); err != nil || len(unused) > 0 {
			t.Errorf("%s.yaml: unused %q, err %v", name, unused, err)
		}
	}
}

// global.membership.broadcastAddress is used only with an internal
// address to advertise.
func TestCheckBroadcastAddress(t *testing.T) {
	for text, unused := range map[string]bool{
		"global: {membership: {broadcastAddress: 10.0.0.1}}":                                               true,
		"global: {membership: {broadcastAddress: 10.0.0.1}}\nservices: {history: {rpc: {grpcPort: 7234}}}": false,
	} {
		st, err := Parse("t.yaml", []byte(text), lookupFrom(nil))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := st.Check()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(strings.Join(keys, "; "), "broadcastAddress"); got != unused {
			t.Errorf("%s: unused %q, want broadcastAddress named: %v", text, keys, unused)
		}
	}
}

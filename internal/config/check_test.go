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
	for _, want := range []string{"services.history.rpc", "services.frontend.rpc.membershipPort", "global.membership",
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

// TLS certificates and authorization are refused, naming the keys: the
// server would otherwise serve plaintext and unchecked requests.
func TestCheckRefusesTLSAndAuthorization(t *testing.T) {
	for env, want := range map[string]string{
		"TEMPORAL_TLS_FRONTEND_CERT":       "global.tls.frontend.server.certFile",
		"TEMPORAL_TLS_CLIENT1_CA_CERT":     "global.tls.frontend.server.clientCaFiles",
		"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH": "global.tls.frontend.server.requireClientAuth",
		"TEMPORAL_AUTH_AUTHORIZER":         "global.authorization.authorizer",
		"TEMPORAL_JWT_KEY_SOURCE1":         "global.authorization.jwtKeyProvider.keySourceURIs",
	} {
		st, err := Parse("docker.yaml", dockerTemplate(t), lookupFrom(map[string]string{env: "true"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Check(); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s set: Check() = %v, want a refusal naming %s", env, err, want)
		}
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

package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Security variables of Temporal's docker images (its config template's
// global.tls and global.authorization). FromEnv maps those Sundial
// honours into the config; the others refuse the start naming the
// variable: a security setting is never accepted and dropped.
var (
	// envTLSMapped map to global.tls.frontend.server and
	// global.tls.refreshInterval.
	envTLSMapped = []string{
		"TEMPORAL_TLS_FRONTEND_CERT", "TEMPORAL_TLS_FRONTEND_KEY",
		"TEMPORAL_TLS_FRONTEND_CERT_DATA", "TEMPORAL_TLS_FRONTEND_KEY_DATA",
		"TEMPORAL_TLS_CLIENT1_CA_CERT", "TEMPORAL_TLS_CLIENT2_CA_CERT",
		"TEMPORAL_TLS_CLIENT1_CA_CERT_DATA", "TEMPORAL_TLS_CLIENT2_CA_CERT_DATA",
		"TEMPORAL_TLS_REQUIRE_CLIENT_AUTH", "TEMPORAL_TLS_REFRESH_INTERVAL",
	}
	// envAuthMapped map to global.authorization.
	envAuthMapped = []string{
		"TEMPORAL_AUTH_AUTHORIZER", "TEMPORAL_AUTH_CLAIM_MAPPER",
		"TEMPORAL_JWT_KEY_SOURCE1", "TEMPORAL_JWT_KEY_SOURCE2", "TEMPORAL_JWT_KEY_SOURCE3",
		"TEMPORAL_JWT_KEY_REFRESH", "TEMPORAL_JWT_PERMISSIONS_CLAIM",
	}
	// envRefused are the template's other security variables, with why
	// Sundial cannot honour them.
	envRefused = []struct {
		names  []string
		reason string
	}{
		{[]string{"TEMPORAL_TLS_SERVER_CERT", "TEMPORAL_TLS_SERVER_KEY", "TEMPORAL_TLS_SERVER_CA_CERT",
			"TEMPORAL_TLS_SERVER_CERT_DATA", "TEMPORAL_TLS_SERVER_KEY_DATA", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
			"TEMPORAL_TLS_INTERNODE_SERVER_NAME", "TEMPORAL_TLS_INTERNODE_DISABLE_HOST_VERIFICATION"},
			"internode TLS (global.tls.internode): every role runs in one process, there is no traffic between Sundial processes to protect"},
		{[]string{"TEMPORAL_TLS_FRONTEND_SERVER_NAME", "TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION"},
			"global.tls.frontend.client: nothing in Sundial dials the frontend over the network"},
		{[]string{"TEMPORAL_TLS_SYSTEM_WORKER_CERT", "TEMPORAL_TLS_SYSTEM_WORKER_KEY",
			"TEMPORAL_TLS_SYSTEM_WORKER_CERT_DATA", "TEMPORAL_TLS_SYSTEM_WORKER_KEY_DATA",
			"TEMPORAL_TLS_SYSTEM_WORKER_CA_CERT", "TEMPORAL_TLS_SYSTEM_WORKER_CA_CERT_DATA"},
			"global.tls.systemWorker: the system worker runs in process and does not dial the frontend"},
		{[]string{"TEMPORAL_TLS_EXPIRATION_CHECKS_WARNING_WINDOW", "TEMPORAL_TLS_EXPIRATION_CHECKS_ERROR_WINDOW",
			"TEMPORAL_TLS_EXPIRATION_CHECKS_CHECK_INTERVAL"},
			"global.tls.expirationChecks: expired certificates are logged at start and at each refresh instead"},
	}
)

// SecurityEnvVars are every TLS and authorization variable of Temporal's
// docker template that Sundial knows: mapped by FromEnv or refused.
func SecurityEnvVars() []string {
	out := append(append([]string(nil), envTLSMapped...), envAuthMapped...)
	for _, r := range envRefused {
		out = append(out, r.names...)
	}
	return out
}

// noOpEnv says whether value of name is the template's default for a
// setting Sundial cannot honour, which then asks for nothing (e.g.
// TEMPORAL_TLS_FRONTEND_DISABLE_HOST_VERIFICATION=false).
func noOpEnv(name, value string) bool {
	return strings.HasSuffix(name, "_DISABLE_HOST_VERIFICATION") && strings.EqualFold(strings.TrimSpace(value), "false") ||
		strings.HasPrefix(name, "TEMPORAL_TLS_EXPIRATION_CHECKS_") && (value == "0" || value == "0s")
}

// refuseSecurityEnv returns an error naming the set security variables
// Sundial cannot honour, with the reason.
func refuseSecurityEnv(lookup func(string) (string, bool)) error {
	var msgs []string
	for _, r := range envRefused {
		var set []string
		for _, n := range r.names {
			if v, ok := lookup(n); ok && v != "" && !noOpEnv(n, v) {
				set = append(set, n)
			}
		}
		if len(set) > 0 {
			msgs = append(msgs, strings.Join(set, ", ")+": "+r.reason)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("config: security settings Sundial cannot honour are set, refusing to start: %s; unset them", strings.Join(msgs, "; "))
}

// envSecurity maps the TLS and authorization variables Sundial honours
// into st (after refusing the others).
func envSecurity(st *Static, get func(...string) string) error {
	fs := &st.Global.TLS.Frontend.Server
	fs.CertFile, fs.KeyFile = get("TEMPORAL_TLS_FRONTEND_CERT"), get("TEMPORAL_TLS_FRONTEND_KEY")
	fs.CertData, fs.KeyData = get("TEMPORAL_TLS_FRONTEND_CERT_DATA"), get("TEMPORAL_TLS_FRONTEND_KEY_DATA")
	for _, n := range []string{"TEMPORAL_TLS_CLIENT1_CA_CERT", "TEMPORAL_TLS_CLIENT2_CA_CERT"} {
		if v := get(n); v != "" {
			fs.ClientCAFiles = append(fs.ClientCAFiles, v)
		}
		if v := get(n + "_DATA"); v != "" {
			fs.ClientCAData = append(fs.ClientCAData, v)
		}
	}
	if v := get("TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: TEMPORAL_TLS_REQUIRE_CLIENT_AUTH=%q: want true or false", v)
		}
		fs.RequireClientAuth = b
	}
	if v := get("TEMPORAL_TLS_REFRESH_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("config: TEMPORAL_TLS_REFRESH_INTERVAL=%q: want a duration like 5m", v)
		}
		st.Global.TLS.RefreshInterval = Duration(d)
	}

	a := &Authorization{
		Authorizer: get("TEMPORAL_AUTH_AUTHORIZER"), ClaimMapper: get("TEMPORAL_AUTH_CLAIM_MAPPER"),
		PermissionsClaimName: get("TEMPORAL_JWT_PERMISSIONS_CLAIM"),
	}
	for _, n := range []string{"TEMPORAL_JWT_KEY_SOURCE1", "TEMPORAL_JWT_KEY_SOURCE2", "TEMPORAL_JWT_KEY_SOURCE3"} {
		if v := get(n); v != "" {
			a.JWTKeyProvider.KeySourceURIs = append(a.JWTKeyProvider.KeySourceURIs, v)
		}
	}
	if v := get("TEMPORAL_JWT_KEY_REFRESH"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("config: TEMPORAL_JWT_KEY_REFRESH=%q: want a duration like 1m", v)
		}
		a.JWTKeyProvider.RefreshInterval = Duration(d)
	}
	if slices.ContainsFunc(envAuthMapped, func(n string) bool { return get(n) != "" }) {
		st.Global.Authorization = a
	}
	return nil
}

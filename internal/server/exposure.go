package server

import (
	"fmt"
	"net"
	"strings"
)

// checkExposure refuses to serve the API on a non-loopback address with
// no authorization: a server reachable from the network would otherwise
// let anyone who can connect run, read and delete every workflow.
// AllowNoAuth is the operator saying so on purpose (for example behind a
// proxy that authenticates). Loopback addresses need no authorization, so
// start-dev works as before.
func checkExposure(c Config) error {
	l, exposed := exposedWithoutAuth(c)
	if !exposed || c.AllowNoAuth {
		return nil
	}
	return fmt.Errorf("refusing to serve the %s on %s, a non-loopback address, with no authorization: "+
		"anyone who can reach it could run, read and delete every workflow. Configure "+
		"global.authorization, listen on 127.0.0.1, or pass --allow-no-auth "+
		"(global.authorization.allowNoAuth: true) to accept this", l.what, l.host)
}

// exposedWithoutAuth returns the first API listener on a non-loopback
// address when no authorization is configured.
func exposedWithoutAuth(c Config) (apiListener, bool) {
	if authorizationConfigured(c) {
		return apiListener{}, false
	}
	for _, l := range apiListeners(c) {
		if !isLoopback(l.host) {
			return l, true
		}
	}
	return apiListener{}, false
}

// authorizationConfigured reports whether requests are authorized (JWT
// keys configured, see AuthConfig.Enabled).
func authorizationConfigured(c Config) bool { return c.Auth.Enabled() }

type apiListener struct{ what, host string }

// apiListeners are the listeners that serve the API (metrics, pprof and
// the loopback-only admin endpoint do not).
func apiListeners(c Config) []apiListener {
	out := []apiListener{{"gRPC API", c.IP}}
	if c.HTTPAddress != "" {
		host, _, err := net.SplitHostPort(c.HTTPAddress)
		if err != nil {
			host = c.HTTPAddress
		}
		out = append(out, apiListener{"HTTP API", host})
	}
	return out
}

// isLoopback reports whether host (an IP or "localhost") is a loopback
// address; the unspecified address (0.0.0.0, ::) and other names are not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func nonBlank(list []string) bool {
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

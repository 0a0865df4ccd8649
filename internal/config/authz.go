package config

import (
	"fmt"
	"strings"
)

// Authorization modes Sundial implements.
const (
	AuthorizerDefault  = "default"
	ClaimMapperDefault = "default"
)

// Enabled reports whether the section turns authorization on
// (`authorizer: default`); Check has refused every half-set combination.
func (a *Authorization) Enabled() bool {
	return a != nil && strings.EqualFold(a.Authorizer, AuthorizerDefault)
}

// KeySources are the non-empty JWKS URIs.
func (a *Authorization) KeySources() []string {
	var out []string
	for _, u := range a.JWTKeyProvider.KeySourceURIs {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// check refuses an authorization section Sundial would not enforce as
// written: unknown plugins, and settings that only mean something with the
// default authorizer and JWT claim mapper together. (On the reference,
// `authorizer: default` with no claim mapper maps every caller to a
// cluster admin; here it is refused.) With no JWKS URIs, the default
// authorizer identifies callers by their client certificates only, which
// needs requireClientAuth (mutual TLS on the frontend).
func (a *Authorization) check(mutualTLS bool) error {
	if a == nil {
		return nil
	}
	authz, mapper := strings.ToLower(a.Authorizer), strings.ToLower(a.ClaimMapper)
	switch {
	case authz != "" && authz != "noop" && authz != AuthorizerDefault:
		return fmt.Errorf("config: global.authorization.authorizer %q: want default (or leave it empty for no authorization)", a.Authorizer)
	case mapper != "" && mapper != "noop" && mapper != ClaimMapperDefault:
		return fmt.Errorf("config: global.authorization.claimMapper %q: want default", a.ClaimMapper)
	}
	if authz == AuthorizerDefault {
		if mapper != ClaimMapperDefault {
			return fmt.Errorf("config: global.authorization.authorizer is default but claimMapper is %q: "+
				"set claimMapper: default (JWT) so callers are identified", a.ClaimMapper)
		}
		if len(a.KeySources()) == 0 && !mutualTLS {
			return fmt.Errorf("config: global.authorization.jwtKeyProvider.keySourceURIs is empty: " +
				"the default claim mapper needs the JWKS URIs of the keys that sign tokens " +
				"(or global.tls.frontend.server.requireClientAuth: true to identify callers by client certificate only)")
		}
		if len(a.KeySources()) == 0 && (a.Audience != "" || a.PermissionsRegex != "") {
			return fmt.Errorf("config: global.authorization.audience and permissionsRegex apply to JWTs, " +
				"but jwtKeyProvider.keySourceURIs is empty: no token is accepted; remove them or add the JWKS URIs")
		}
		return nil
	}
	var ignored []string
	if mapper == ClaimMapperDefault {
		ignored = append(ignored, "global.authorization.claimMapper")
	}
	if len(a.KeySources()) > 0 {
		ignored = append(ignored, "global.authorization.jwtKeyProvider.keySourceURIs")
	}
	if a.Audience != "" {
		ignored = append(ignored, "global.authorization.audience")
	}
	if len(a.RoleBindings) > 0 {
		ignored = append(ignored, "global.authorization.roleBindings")
	}
	if a.PermissionsRegex != "" {
		ignored = append(ignored, "global.authorization.permissionsRegex")
	}
	if len(ignored) > 0 {
		return fmt.Errorf("config: %s set but global.authorization.authorizer is not default: tokens would not be checked; "+
			"set authorizer: default and claimMapper: default, or remove them", strings.Join(ignored, ", "))
	}
	return nil
}

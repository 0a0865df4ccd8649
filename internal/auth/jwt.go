package auth

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultPermissionsClaimName is the claim holding `namespace:role`
// permissions when the config names none.
const DefaultPermissionsClaimName = "permissions"

// SigningMethods are the only JWT algorithms accepted: RS256 and ES256, as
// the reference's key provider. `none` and HMAC (whose "key" would be the
// public key an attacker can read) are refused by the parser.
var SigningMethods = []string{"RS256", "ES256"}

// ErrUnauthenticated is returned for every token that is not valid; the
// reason is wrapped for the log, never sent to the client.
var ErrUnauthenticated = errors.New("invalid authorization token")

// KeyLookup finds a public key by key ID.
type KeyLookup interface {
	Key(kid string) (any, bool)
}

// JWTMapperOptions configures a JWTMapper.
type JWTMapperOptions struct {
	Keys KeyLookup
	// PermissionsClaimName; default DefaultPermissionsClaimName.
	PermissionsClaimName string
	// PermissionsRegex, when set, reads a permission with the named
	// groups `namespace` and `role` instead of splitting at ':'.
	PermissionsRegex string
	// Audience, when set, must be in the token's `aud`.
	Audience string
	// Now is the clock for expiry checks; nil means time.Now.
	Now func() time.Time
}

// JWTMapper turns a bearer token into Claims (the reference's default
// claim mapper): `sub` is the subject, each `namespace:role` string in the
// permissions claim grants that role (namespace `temporal-system` means
// cluster-wide), and `groups` are kept for role bindings.
type JWTMapper struct {
	opts  JWTMapperOptions
	re    *regexp.Regexp
	reNS  int
	reRol int
}

// NewJWTMapper checks opts and returns a mapper.
func NewJWTMapper(opts JWTMapperOptions) (*JWTMapper, error) {
	if opts.Keys == nil {
		return nil, errors.New("auth: JWT mapper needs a key source")
	}
	if opts.PermissionsClaimName == "" {
		opts.PermissionsClaimName = DefaultPermissionsClaimName
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &JWTMapper{opts: opts}
	if opts.PermissionsRegex != "" {
		re, err := regexp.Compile(opts.PermissionsRegex)
		if err != nil {
			return nil, fmt.Errorf("permissionsRegex: %w", err)
		}
		m.re, m.reNS, m.reRol = re, re.SubexpIndex("namespace"), re.SubexpIndex("role")
		if m.reNS < 0 || m.reRol < 0 {
			return nil, errors.New("permissionsRegex: needs the named groups (?P<namespace>…) and (?P<role>…)")
		}
	}
	return m, nil
}

// Claims checks the `authorization` header value ("Bearer TOKEN") and
// returns the caller's claims. An empty header gives empty claims (no
// roles): the authorizer then allows only the open APIs. Any defect of the
// token is ErrUnauthenticated.
func (m *JWTMapper) Claims(header string) (*Claims, error) {
	if header == "" {
		return &Claims{}, nil
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil, fmt.Errorf("%w: want \"Bearer TOKEN\"", ErrUnauthenticated)
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(SigningMethods), jwt.WithTimeFunc(m.opts.Now)}
	if strings.TrimSpace(m.opts.Audience) != "" {
		popts = append(popts, jwt.WithAudience(m.opts.Audience))
	}
	parsed, err := jwt.NewParser(popts...).Parse(strings.TrimSpace(token), m.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	mc, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return nil, fmt.Errorf("%w: no claims", ErrUnauthenticated)
	}
	sub, ok := mc["sub"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: \"sub\" is not a string", ErrUnauthenticated)
	}
	c := &Claims{Subject: sub}
	for _, g := range stringList(mc["groups"]) {
		c.Groups = append(c.Groups, g)
	}
	for _, p := range stringList(mc[m.opts.PermissionsClaimName]) {
		ns, role, ok := m.permission(p)
		if !ok {
			continue
		}
		if r, ok := ParseRole(role); ok {
			c.Grant(ns, r)
		}
	}
	return c, nil
}

// key picks the verification key by the token's kid; the parser has
// already refused algorithms other than SigningMethods.
func (m *JWTMapper) key(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, errors.New("token has no \"kid\" header")
	}
	key, ok := m.opts.Keys.Key(kid)
	if !ok {
		return nil, fmt.Errorf("unknown key ID %q", kid)
	}
	return key, nil
}

func (m *JWTMapper) permission(p string) (ns, role string, ok bool) {
	if m.re == nil {
		return strings.Cut(p, ":")
	}
	match := m.re.FindStringSubmatch(p)
	if match == nil {
		return "", "", false
	}
	return match[m.reNS], match[m.reRol], true
}

// stringList reads a claim that is a list of strings (non-strings are
// skipped) or a single string.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

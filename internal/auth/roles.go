// Package auth authenticates and authorizes calls to the frontend: JWTs
// checked against JWKS keys (jwks.go, jwt.go), the reference server's
// default authorizer over a per-method table (authorizer.go, methods.go),
// role bindings kept in the database (bindings.go), and the gRPC
// interceptor that puts them together (interceptor.go).
package auth

import (
	"fmt"
	"strings"
)

// Role is a bit set of permissions, valued as the reference server's so
// comparisons (a writer also reads) work the same: worker 1, reader 2,
// writer 4, admin 8. A role set is compared numerically against the role
// an API needs, so a lone worker bit satisfies nothing but the health
// checks (as on the reference).
type Role int16

// Roles.
const (
	RoleWorker Role = 1 << iota
	RoleReader
	RoleWriter
	RoleAdmin
	RoleNone Role = 0
)

// SystemNamespace is the namespace name whose roles apply cluster-wide
// (a `temporal-system:admin` permission is a cluster admin).
const SystemNamespace = "temporal-system"

// ParseRole reads a permission's role word as the reference's claim
// mapper does: read, write, worker, admin (any case). ok is false for
// anything else.
func ParseRole(s string) (r Role, ok bool) {
	switch strings.ToLower(s) {
	case "read", "reader":
		return RoleReader, true
	case "write", "writer":
		return RoleWriter, true
	case "worker":
		return RoleWorker, true
	case "admin":
		return RoleAdmin, true
	}
	return RoleNone, false
}

// String names the highest role in r (for logs and the CLI).
func (r Role) String() string {
	switch {
	case r&RoleAdmin != 0:
		return "admin"
	case r&RoleWriter != 0:
		return "write"
	case r&RoleReader != 0:
		return "read"
	case r&RoleWorker != 0:
		return "worker"
	case r == RoleNone:
		return "none"
	}
	return fmt.Sprintf("Role(%d)", int16(r))
}

// Claims is who a caller is and what it may do.
type Claims struct {
	// Subject is the token's `sub` ("" for a call with no token).
	Subject string
	// Groups are the token's `groups` claim, matched by role bindings.
	Groups []string
	// Certificate are the principals of the caller's verified client
	// certificate (cert-cn:, cert-dns:, cert-uri:, see CertPrincipals),
	// matched by role bindings.
	Certificate []string
	// System is the caller's cluster-wide role.
	System Role
	// Namespaces are its roles per namespace name.
	Namespaces map[string]Role
}

// Grant adds role r in namespace ns (SystemNamespace means cluster-wide).
func (c *Claims) Grant(ns string, r Role) {
	if ns == SystemNamespace {
		c.System |= r
		return
	}
	if c.Namespaces == nil {
		c.Namespaces = map[string]Role{}
	}
	c.Namespaces[ns] |= r
}

package auth

// Authorize is the reference server's default authorizer: the health check
// and GetSystemInfo are open to all; otherwise a cluster-wide API needs the
// caller's cluster role to reach the API's access level, and a namespace
// API the union of its cluster role and its role in the request's
// namespace. Read needs reader, write needs writer, admin needs admin;
// an unknown API is denied. claims nil means no identity at all.
func Authorize(claims *Claims, fullMethod, namespace string) bool {
	if fullMethod == HealthCheckMethod || fullMethod == GetSystemInfoMethod {
		return true
	}
	if claims == nil {
		return false
	}
	m := LookupMethod(fullMethod)
	var has Role
	switch m.Scope {
	case ScopeCluster:
		has = claims.System
	case ScopeNamespace:
		has = claims.System | claims.Namespaces[namespace]
	default:
		return false
	}
	return has >= requiredRole(m.Access)
}

func requiredRole(a Access) Role {
	switch a {
	case AccessRead:
		return RoleReader
	case AccessWrite:
		return RoleWriter
	default:
		return RoleAdmin
	}
}

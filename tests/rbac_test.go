package tests

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/server"
)

// TestRBACThroughCLI: a token with no permissions is refused; a binding
// granted with `sundial rbac grant` (to its subject, or to a group in its
// groups claim) lets it in without a restart, and `sundial rbac revoke`
// shuts it out again. Bindings from the config apply too, and `rbac list`
// shows both kinds. The grant and revoke are audited.
func TestRBACThroughCLI(t *testing.T) {
	bin := buildSundial(t)
	tokenFile := filepath.Join(t.TempDir(), "admin.token")
	env := newAuthEnv(t, func(c *server.Config) {
		c.AdminAddress = "127.0.0.1:0"
		c.AdminTokenFile = tokenFile
		c.Audit = server.AuditConfig{Enabled: true}
		c.Auth.RoleBindings = []auth.Binding{{Principal: "user:carol", Namespace: authzNamespace, Role: auth.RoleReader}}
	})
	cli := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append(args, "--address", env.server.AdminAddr(), "--admin-token-file", tokenFile)...).CombinedOutput()
		require.NoError(t, err, "sundial %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	wf := workflowservice.NewWorkflowServiceClient(env.conn(t))
	describe := func(token string) codes.Code {
		_, err := wf.DescribeNamespace(withToken(context.Background(), token),
			&workflowservice.DescribeNamespaceRequest{Namespace: authzNamespace})
		return status.Code(err)
	}
	bob := env.iss.token(t, jwt.MapClaims{"sub": "bob"})
	dana := env.iss.token(t, jwt.MapClaims{"sub": "dana", "groups": []string{"sre"}})
	carol := env.iss.token(t, jwt.MapClaims{"sub": "carol"})
	require.Equal(t, codes.PermissionDenied, describe(bob))
	require.Equal(t, codes.PermissionDenied, describe(dana))
	require.Equal(t, codes.OK, describe(carol), "binding from the config")

	cli("rbac", "grant", "user:bob", authzNamespace, "read")
	cli("rbac", "grant", "group:sre", "temporal-system", "admin")
	require.Equal(t, codes.OK, describe(bob), "after grant")
	require.Equal(t, codes.OK, describe(dana), "after group grant")
	list := cli("rbac", "list")
	for _, want := range []string{"user:bob", "group:sre", "user:carol"} {
		require.Contains(t, list, want)
	}
	require.Regexp(t, `user:carol\s+`+authzNamespace+`\s+read\s+config`, list)

	cli("rbac", "revoke", "user:bob", authzNamespace, "read")
	require.Equal(t, codes.PermissionDenied, describe(bob), "after revoke")
	require.Equal(t, codes.OK, describe(dana), "other bindings stay")

	// Bad input changes nothing.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "rbac", "grant", "bob", authzNamespace, "read", "--address", env.server.AdminAddr(), "--admin-token-file", tokenFile).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), auth.PrincipalSyntax)
	require.Equal(t, codes.PermissionDenied, describe(bob))

	var apis []string
	for _, e := range auditEntries(t, env, "") {
		apis = append(apis, e.API+" "+e.Target)
	}
	require.Equal(t, []string{"admin.rbac.grant user:bob read", "admin.rbac.grant group:sre admin",
		"admin.rbac.revoke user:bob read"}, apis)
	export := cli("audit", "export")
	require.Equal(t, 3, strings.Count(export, "\n"), export)
	require.Contains(t, cli("audit", "list", "--namespace", "temporal-system"), "admin.rbac.grant")
}

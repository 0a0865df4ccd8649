package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/audit"
	"github.com/sundialhq/sundial/internal/auth"
	"github.com/sundialhq/sundial/internal/frontend"
	"github.com/sundialhq/sundial/internal/persistence"
)

// auditPurgeInterval is how often entries past the audit retention are
// purged.
const auditPurgeInterval = time.Hour

// defaultRoleBindingPoll is how often stored role bindings are re-read.
const defaultRoleBindingPoll = 10 * time.Second

// startAuth builds the interceptor that authorizes calls (when
// authorization is configured) and records them in the audit log (when
// auditing is on); nil when both are off. Signing keys are loaded once (a
// failure is logged, not fatal: tokens are refused until a refresh
// succeeds) and kept fresh, and old audit entries purged, until the server
// stops. raw is the store as opened, before any wrapper.
func (s *Server) startAuth(ctx context.Context, raw persistence.Store) (grpc.UnaryServerInterceptor, error) {
	a := s.cfg.Auth
	if !a.Enabled() && !s.cfg.Audit.Enabled {
		return nil, nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.stopAuth = cancel
	opts := auth.Options{HeaderName: a.HeaderName, Logger: s.log.With("component", "auth"), Now: s.cfg.Clock.Now,
		Code: frontend.ErrorCode}
	if a.Enabled() {
		opts.Enforce = true
		if len(a.KeySourceURIs) > 0 {
			keys := auth.NewKeySet(a.KeySourceURIs, nil, opts.Logger)
			mapper, err := auth.NewJWTMapper(auth.JWTMapperOptions{Keys: keys, PermissionsClaimName: a.PermissionsClaimName,
				PermissionsRegex: a.PermissionsRegex, Audience: a.Audience, Now: s.cfg.Clock.Now})
			if err != nil {
				return nil, fmt.Errorf("global.authorization: %w", err)
			}
			if err := keys.Refresh(ctx); err != nil {
				s.log.Warn("loading JWT signing keys; tokens are refused until they load", "error", err)
			}
			go keys.Run(runCtx, a.RefreshInterval)
			opts.Mapper = mapper
		}
		rbac, _ := raw.(persistence.RBACStore)
		s.bindings = auth.NewBindings(rbac, a.RoleBindings, opts.Logger)
		if err := s.bindings.Reload(ctx); err != nil {
			return nil, fmt.Errorf("reading role bindings: %w", err)
		}
		poll := a.RoleBindingPoll
		if poll <= 0 {
			poll = defaultRoleBindingPoll
		}
		go s.bindings.Run(runCtx, poll)
		opts.Bindings = s.bindings
	}
	if s.cfg.Audit.Enabled {
		store, ok := raw.(persistence.AuditStore)
		if !ok {
			return nil, errors.New("audit.enabled: this store keeps no audit log")
		}
		s.audit = audit.New(audit.Options{Store: store, Reads: s.cfg.Audit.Reads, Retention: s.cfg.Audit.Retention,
			Logger: s.log.With("component", "audit"), Now: s.cfg.Clock.Now})
		go s.audit.RunRetention(runCtx, auditPurgeInterval)
		opts.Observe = s.audit.Observe
	}
	return auth.Interceptor(opts), nil
}

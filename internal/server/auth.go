package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/sundialhq/sundial/internal/auth"
)

// startAuth builds the authorization interceptor when authorization is
// configured: it loads the signing keys once (a failure is logged, not
// fatal: tokens are refused until a refresh succeeds) and keeps them fresh
// until the server stops. It returns nil when authorization is off.
func (s *Server) startAuth(ctx context.Context) (grpc.UnaryServerInterceptor, error) {
	a := s.cfg.Auth
	if !a.Enabled() {
		return nil, nil
	}
	keys := auth.NewKeySet(a.KeySourceURIs, nil, s.log.With("component", "auth"))
	mapper, err := auth.NewJWTMapper(auth.JWTMapperOptions{Keys: keys, PermissionsClaimName: a.PermissionsClaimName,
		PermissionsRegex: a.PermissionsRegex, Audience: a.Audience, Now: s.cfg.Clock.Now})
	if err != nil {
		return nil, fmt.Errorf("global.authorization: %w", err)
	}
	if err := keys.Refresh(ctx); err != nil {
		s.log.Warn("loading JWT signing keys; tokens are refused until they load", "error", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.stopAuth = cancel
	go keys.Run(runCtx, a.RefreshInterval)
	return auth.Interceptor(auth.Options{Mapper: mapper, HeaderName: a.HeaderName,
		Logger: s.log.With("component", "auth"), Now: s.cfg.Clock.Now}), nil
}

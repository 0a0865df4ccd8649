package webui

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/temporalio/ui-server/v2/server/api"
	"github.com/temporalio/ui-server/v2/server/auth"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/cors"
	"github.com/temporalio/ui-server/v2/server/csrf"
	"github.com/temporalio/ui-server/v2/server/headers"
	"github.com/temporalio/ui-server/v2/server/route"
	"github.com/temporalio/ui-server/v2/ui"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// uiConfig is the UI server's configuration for opts, as `temporal server
// start-dev` configures its embedded UI: plain HTTP (so the CSRF cookie is
// not marked Secure), no request log, no calls home for news or releases.
func uiConfig(o Options) *uiconfig.Config {
	cookieInsecure := !o.TLS
	return &uiconfig.Config{
		TemporalGRPCAddress: o.FrontendAddress,
		PublicPath:          o.PublicPath,
		EnableUI:            true,
		DefaultNamespace:    o.DefaultNamespace,
		DisableWriteActions: o.DisableWriteActions,
		DisableNewsFetch:    true,
		HideLogs:            true,
		CORS:                uiconfig.CORS{CookieInsecure: cookieInsecure},
		Distribution:        "sundial",
	}
}

// newHandler builds the UI server's HTTP handler from the library's
// routes and middleware, in the order its server.NewServer installs them,
// and returns the gRPC connection the API routes use (the caller closes
// it).
func newHandler(cfg *uiconfig.Config, o Options) (*echo.Echo, *grpc.ClientConn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("ui config: %w", err)
	}
	provider, err := uiconfig.NewConfigProviderWithRefresh(cfg)
	if err != nil {
		return nil, nil, err
	}
	assets, err := ui.Assets()
	if err == nil {
		assets, err = fs.Sub(assets, "local")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ui assets: %w", err)
	}
	var conn *grpc.ClientConn
	if o.DialFrontend != nil {
		conn, err = grpc.NewClient("passthrough:///frontend",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return o.DialFrontend(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		conn, err = api.CreateGRPCConnection(provider)
	}
	if err != nil {
		return nil, nil, err
	}
	if conn == nil {
		return nil, nil, fmt.Errorf("ui: cannot create a gRPC connection to %s", cfg.TemporalGRPCAddress)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.Use(middleware.Gzip())
	e.Use(cors.CORSMiddleware(cors.CORSConfig{
		AllowHeaders: []string{
			echo.HeaderOrigin, echo.HeaderContentType, echo.HeaderAccept,
			echo.HeaderXCSRFToken, echo.HeaderAuthorization, auth.AuthorizationExtrasHeader,
			"Caller-Type",
		},
		AllowCredentials: true,
		ConfigProvider:   provider,
	}))
	e.Use(middleware.Secure())
	secureCookie := !cfg.CORS.CookieInsecure
	e.Use(csrf.EnsureTokenCookie(secureCookie))
	e.Use(middleware.CSRFWithConfig(csrf.MiddlewareConfig(provider, secureCookie)))
	e.Pre(route.PublicPath(cfg.PublicPath))

	route.SetHealthRoute(e)
	setAPIRoutes(e, provider, conn, o.CallMetadata)
	route.SetAuthRoutes(e, provider)
	if err := route.SetUIRoutes(e, cfg.PublicPath, assets, provider); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	route.SetRenderRoute(e, "/")
	return e, conn, nil
}

// setAPIRoutes is the library's route.SetAPIRoutes over a connection the
// caller owns (the library's version dials one it never closes).
func setAPIRoutes(e *echo.Echo, provider *uiconfig.ConfigProviderWithRefresh, conn *grpc.ClientConn, extra func(*http.Request) metadata.MD) {
	mw := []api.Middleware{headers.WithForwardHeaders([]string{auth.AuthorizationExtrasHeader, "Caller-Type"})}
	// No header a browser sends becomes metadata named sundial-* (which
	// CallMetadata uses to pass identities): grpc-gateway's default would
	// turn Grpc-Metadata-Sundial-X into sundial-x.
	mw = append(mw, func(echo.Context) runtime.ServeMuxOption {
		return runtime.WithIncomingHeaderMatcher(func(h string) (string, bool) {
			key, ok := runtime.DefaultHeaderMatcher(h)
			if ok && strings.HasPrefix(strings.ToLower(key), "sundial-") {
				return "", false
			}
			return key, ok
		})
	})
	if extra != nil {
		mw = append(mw, func(c echo.Context) runtime.ServeMuxOption {
			return runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD { return extra(c.Request()) })
		})
	}
	g := e.Group("/api/v1")
	g.GET("/settings", api.GetSettings(provider))
	g.GET("/releases", api.GetLatestReleases(provider, api.NewReleaseChecker()))
	g.GET("/ui-extensions", api.GetUIExtensions(provider, api.TemporalAccessCheck(conn, mw)))
	writes := route.DisableWriteMiddleware(provider)
	g.GET(api.WorkflowRawHistoryUrl, api.WorkflowRawHistoryHandler(workflowservice.NewWorkflowServiceClient(conn)), writes)
	g.Match([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, "/*", api.TemporalAPIHandler(provider, mw, conn), writes)
}

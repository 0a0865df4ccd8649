package auth

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// RequestUnauthorized is the message of every denial, as the reference's.
const RequestUnauthorized = "Request unauthorized."

// DefaultHeaderName carries the bearer token.
const DefaultHeaderName = "authorization"

// BindingSource adds the roles granted to a caller by stored role
// bindings (its subject or one of its groups).
type BindingSource interface {
	Apply(c *Claims)
}

// Call is one finished call, as the Observe hook sees it.
type Call struct {
	Time      time.Time
	Method    string // full gRPC method name
	Namespace string
	Subject   string // "" when unauthenticated or authorization is off
	Peer      string // the caller's address
	Request   any
	Code      codes.Code
}

// Options configures Interceptor.
type Options struct {
	// Mapper authenticates callers by bearer token. Nil with Enforce
	// false turns authorization off: every call is allowed and has no
	// subject.
	Mapper *JWTMapper
	// Enforce authorizes calls even with no Mapper: callers are then
	// identified by their verified client certificates only (mutual TLS)
	// and a bearer token is refused (nothing could verify it).
	Enforce bool
	// HeaderName carries the token; default DefaultHeaderName.
	HeaderName string
	// Bindings, when set, add roles from stored role bindings.
	Bindings BindingSource
	// Observe, when set, is called after every call (allowed or denied)
	// with its outcome; the audit log hangs here.
	Observe func(ctx context.Context, c Call)
	Logger  *slog.Logger
	// Now is the clock for Call.Time; nil means time.Now.
	Now func() time.Time
	// Code maps a handler's error to the gRPC code the caller gets (the
	// frontend's error mapping runs outside this interceptor); nil means
	// status.Code.
	Code func(error) codes.Code
}

type claimsKey struct{}

// FromContext returns the claims the interceptor established for the
// call (nil when authorization is off).
func FromContext(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// Interceptor authenticates the caller from its bearer token only (other
// identity headers a client sends are ignored), authorizes the call with
// Authorize against the request's namespace, and reports the outcome to
// opts.Observe. Denials and bad tokens are PermissionDenied
// "Request unauthorized." with no detail; the reason goes to the debug log.
func Interceptor(opts Options) grpc.UnaryServerInterceptor {
	if opts.HeaderName == "" {
		opts.HeaderName = DefaultHeaderName
	}
	opts.HeaderName = strings.ToLower(opts.HeaderName)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Code == nil {
		opts.Code = status.Code
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ns := requestNamespace(req)
		claims, allowed := opts.check(ctx, info.FullMethod, ns)
		var resp any
		var err error
		if allowed {
			if claims != nil {
				ctx = context.WithValue(ctx, claimsKey{}, claims)
			}
			resp, err = handler(ctx, req)
		} else {
			err = serviceerror.ToStatus(serviceerror.NewPermissionDenied(RequestUnauthorized, "")).Err()
		}
		if opts.Observe != nil {
			c := Call{Time: opts.Now(), Method: info.FullMethod, Namespace: ns, Request: req,
				Code: opts.Code(err), Peer: peerAddr(ctx)}
			if claims != nil {
				c.Subject = claims.Subject
				if c.Subject == "" && len(claims.Certificate) > 0 {
					c.Subject = claims.Certificate[0]
				}
			}
			opts.Observe(ctx, c)
		}
		return resp, err
	}
}

// check returns the caller's claims (nil when authorization is off or the
// caller has no valid identity) and whether the call may go ahead. A
// caller is identified by its bearer token, its verified client
// certificate, or both (the certificate's bindings then add to the
// token's roles); a token that is sent must be valid.
func (o *Options) check(ctx context.Context, method, ns string) (*Claims, bool) {
	if o.Mapper == nil && !o.Enforce {
		return nil, true
	}
	var header string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(o.HeaderName); len(v) > 0 {
			header = v[0]
		}
	}
	certs := peerCertPrincipals(ctx)
	var claims *Claims
	switch {
	case header != "" && o.Mapper == nil:
		o.Logger.Debug("authorization token refused: no JWT keys are configured", "method", method)
		return nil, Authorize(nil, method, ns)
	case header != "" || len(certs) == 0:
		c, err := o.mapToken(header)
		if err != nil {
			o.Logger.Debug("authorization token refused", "method", method, "error", err)
			return nil, Authorize(nil, method, ns)
		}
		claims = c
	default:
		claims = &Claims{}
	}
	claims.Certificate = certs
	if o.Bindings != nil && (claims.Subject != "" || len(claims.Groups) > 0 || len(claims.Certificate) > 0) {
		o.Bindings.Apply(claims)
	}
	return claims, Authorize(claims, method, ns)
}

func (o *Options) mapToken(header string) (*Claims, error) {
	if o.Mapper == nil {
		return nil, ErrUnauthenticated
	}
	return o.Mapper.Claims(header)
}

func requestNamespace(req any) string {
	if r, ok := req.(interface{ GetNamespace() string }); ok {
		return r.GetNamespace()
	}
	return ""
}

// peerAddr is the caller's address. Calls of the HTTP API reach gRPC
// over an in-memory pipe ("bufconn"); for them the address is the last
// X-Forwarded-For entry, which grpc-gateway sets from the HTTP peer. A
// X-Forwarded-For sent on a real gRPC connection is not believed.
func peerAddr(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if p.Addr.Network() == "bufconn" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("x-forwarded-for"); len(v) > 0 {
				parts := strings.Split(v[len(v)-1], ",")
				return strings.TrimSpace(parts[len(parts)-1])
			}
		}
		return "http"
	}
	return p.Addr.String()
}

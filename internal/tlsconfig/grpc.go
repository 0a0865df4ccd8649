package tlsconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ListenerCredentials are gRPC server credentials for a server whose
// public listeners are wrapped by Provider.Listener. The TLS itself is
// the listener's; these credentials complete the handshake of each
// *tls.Conn and report it as credentials.TLSInfo, so handlers (and
// authorization) see the verified peer certificate via peer.FromContext.
//
// A connection that is not a *tls.Conn passes as insecure: only in-memory
// listeners of this process (the HTTP API's connection to the frontend,
// whose own listener is TLS) serve such connections. Never serve a
// network listener that is not wrapped with these credentials.
func ListenerCredentials() credentials.TransportCredentials { return listenerCreds{} }

type listenerCreds struct{}

// ServerHandshake runs the TLS handshake of c (under the deadline gRPC
// has set on it).
func (listenerCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return insecure.NewCredentials().ServerHandshake(c)
	}
	if err := tc.Handshake(); err != nil {
		_ = tc.Close()
		return nil, nil, err
	}
	return tc, credentials.TLSInfo{
		State:          tc.ConnectionState(),
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
	}, nil
}

func (listenerCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("tlsconfig: listener credentials are for servers only")
}

func (listenerCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (c listenerCreds) Clone() credentials.TransportCredentials { return c }

func (listenerCreds) OverrideServerName(string) error { return nil }

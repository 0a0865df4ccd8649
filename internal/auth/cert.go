package auth

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"net/http"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Principal prefixes naming a verified client certificate (mutual TLS):
// its subject's common name, a DNS name or a URI (e.g. a SPIFFE ID) of its
// subject alternative names.
const (
	CertCNPrefix  = "cert-cn:"
	CertDNSPrefix = "cert-dns:"
	CertURIPrefix = "cert-uri:"
)

// CertPrincipals are the principals a verified client certificate
// stands for: cert-cn:CN, cert-dns:NAME for each DNS SAN and
// cert-uri:URI for each URI SAN.
func CertPrincipals(c *x509.Certificate) []string {
	var out []string
	if c.Subject.CommonName != "" {
		out = append(out, CertCNPrefix+c.Subject.CommonName)
	}
	for _, d := range c.DNSNames {
		out = append(out, CertDNSPrefix+d)
	}
	for _, u := range c.URIs {
		out = append(out, CertURIPrefix+u.String())
	}
	return out
}

// InProcessCertKey is the gRPC metadata key under which the HTTP API,
// which calls the frontend over an in-memory connection, passes the
// principals of the HTTP client's verified certificate. It is random per
// process and only believed on in-memory connections, so no client can
// forge it with a header (grpc-gateway's Grpc-Metadata-* pass-through):
// it cannot guess the name, and a real network connection never counts.
var InProcessCertKey = func() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness for the in-process certificate key: " + err.Error())
	}
	return "sundial-peer-cert-" + hex.EncodeToString(b)
}()

// InProcessCertMetadata is the metadata that passes the principals of the
// HTTP request's verified client certificate (mutual TLS on an HTTP
// listener: the HTTP API, the Web UI) to the frontend over an in-memory
// connection; nil when there is none.
func InProcessCertMetadata(r *http.Request) metadata.MD {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	p := CertPrincipals(r.TLS.PeerCertificates[0])
	if len(p) == 0 {
		return nil
	}
	return metadata.MD{InProcessCertKey: p}
}

// inProcessNetwork is the network name of the HTTP API's in-memory
// connection (grpc's bufconn).
const inProcessNetwork = "bufconn"

// peerCertPrincipals are the principals of the caller's verified client
// certificate: from the TLS connection, or for a call of the HTTP API
// from what the HTTP listener verified; nil when there is none.
func peerCertPrincipals(ctx context.Context) []string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return nil
	}
	if p.Addr.Network() == inProcessNetwork {
		md, _ := metadata.FromIncomingContext(ctx)
		return md.Get(InProcessCertKey)
	}
	if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.VerifiedChains) > 0 && len(info.State.PeerCertificates) > 0 {
		return CertPrincipals(info.State.PeerCertificates[0])
	}
	return nil
}

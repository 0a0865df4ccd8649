package tlsconfig

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// serve accepts TLS connections on a loopback port until the test ends;
// each accepted connection completes its handshake and gets one byte.
func serve(t *testing.T, p *Provider) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := p.Listener(lis, HTTP)
	t.Cleanup(func() { _ = tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte{1})
				}
			}()
		}
	}()
	return lis.Addr().String()
}

// dial completes a handshake and reads the server's byte (with TLS 1.3 a
// refused client certificate shows only then), returning the server's
// certificate serial.
func dial(addr string, cfg *tls.Config) (*big.Int, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

func clientConfig(ca *certtest.CA, cert *certtest.Leaf, t *testing.T) *tls.Config {
	cfg := &tls.Config{RootCAs: certtest.Pool(ca), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		// Always send it: with Certificates, Go's client sends nothing
		// when the server's acceptable CAs do not list the issuer.
		c := cert.TLS(t)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

// With requireClientAuth only a client certificate from a configured CA
// that is valid now completes the handshake.
func TestRequireClientAuth(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := certtest.NewCA(t, "server-ca"), certtest.NewCA(t, "client-ca"), certtest.NewCA(t, "other")
	certFile, keyFile := serverCA.Server(t).WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "client-ca.pem")
	certtest.WriteFile(t, caFile, clientCA.CertPEM)
	p, err := New(Options{Key: "global.tls.frontend", Group: config.GroupTLS{Server: config.ServerTLS{
		CertFile: certFile, KeyFile: keyFile, ClientCAFiles: []string{"", caFile}, RequireClientAuth: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := serve(t, p)
	if _, err := dial(addr, clientConfig(serverCA, clientCA.Client(t, "good"), t)); err != nil {
		t.Fatalf("valid client certificate: %v", err)
	}
	for name, cert := range map[string]*certtest.Leaf{
		"no client certificate": nil, "other CA": otherCA.Client(t, "stranger"), "expired": clientCA.ExpiredClient(t, "old"),
	} {
		if _, err := dial(addr, clientConfig(serverCA, cert, t)); err == nil {
			t.Errorf("%s: handshake succeeded, want it refused", name)
		}
	}
}

// Client CAs without requireClientAuth: no certificate is fine, a
// certificate from another CA is not.
func TestOptionalClientCert(t *testing.T) {
	serverCA, clientCA, otherCA := certtest.NewCA(t, "server-ca"), certtest.NewCA(t, "client-ca"), certtest.NewCA(t, "other")
	srv := serverCA.Server(t)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	p, err := New(Options{Key: "k", Group: config.GroupTLS{Server: config.ServerTLS{
		CertData: b64(srv.CertPEM), KeyData: b64(srv.KeyPEM), ClientCAData: []string{b64(clientCA.CertPEM)}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := serve(t, p)
	if _, err := dial(addr, clientConfig(serverCA, nil, t)); err != nil {
		t.Errorf("no client certificate: %v", err)
	}
	if _, err := dial(addr, clientConfig(serverCA, otherCA.Client(t, "x"), t)); err == nil {
		t.Error("certificate from another CA accepted")
	}
}

// hostOverrides serve their own certificate to clients asking for their
// SNI name; everyone else gets the default one.
func TestHostOverrides(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "ca")
	def, acct := ca.Server(t), ca.Server(t, "accounting.example")
	dc, dk := def.WriteFiles(t, dir, "default")
	ac, ak := acct.WriteFiles(t, dir, "accounting")
	p, err := New(Options{Key: "k", Group: config.GroupTLS{Server: config.ServerTLS{CertFile: dc, KeyFile: dk},
		HostOverrides: map[string]config.ServerTLS{"Accounting.example": {CertFile: ac, KeyFile: ak}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := serve(t, p)
	cfg := clientConfig(ca, nil, t)
	if got, err := dial(addr, cfg); err != nil || got.Cmp(def.Cert.SerialNumber) != 0 {
		t.Errorf("localhost: serial %v, err %v; want the default certificate", got, err)
	}
	cfg.ServerName = "accounting.example"
	if got, err := dial(addr, cfg); err != nil || got.Cmp(acct.Cert.SerialNumber) != 0 {
		t.Errorf("accounting.example: serial %v, err %v; want the override's certificate", got, err)
	}
}

// Rotated files are served to new connections within the refresh
// interval, with no restart; a half-written rotation keeps the old ones.
func TestRefresh(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "ca")
	first := ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, dir, "server")
	p, err := New(Options{Key: "k", RefreshInterval: 50 * time.Millisecond,
		Group: config.GroupTLS{Server: config.ServerTLS{CertFile: certFile, KeyFile: keyFile}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := serve(t, p)
	second := ca.Server(t)
	certtest.WriteFile(t, certFile, second.CertPEM) // key not rotated yet: mismatch, keep serving first
	if got, err := dial(addr, clientConfig(ca, nil, t)); err != nil || got.Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatalf("during rotation: serial %v, err %v; want the first certificate", got, err)
	}
	second.WriteFiles(t, dir, "server")
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := dial(addr, clientConfig(ca, nil, t))
		if err == nil && got.Cmp(second.Cert.SerialNumber) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotated certificate not served: serial %v, err %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Bad settings are refused, naming the key (and the path of a file).
func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t, "ca")
	certFile, keyFile := ca.Server(t).WriteFiles(t, dir, "server")
	missing := filepath.Join(dir, "nope.pem")
	for _, tc := range []struct {
		s    config.ServerTLS
		want []string
	}{
		{config.ServerTLS{CertFile: missing, KeyFile: keyFile}, []string{"global.tls.frontend.server.certFile", missing}},
		{config.ServerTLS{CertFile: certFile, KeyFile: missing}, []string{"global.tls.frontend.server.keyFile", missing}},
		{config.ServerTLS{CertFile: certFile}, []string{"global.tls.frontend.server.keyFile is not set"}},
		{config.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFiles: []string{missing}},
			[]string{"global.tls.frontend.server.clientCaFiles[0]", missing}},
		{config.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFiles: []string{keyFile}},
			[]string{"clientCaFiles[0]", "no PEM certificate"}},
		{config.ServerTLS{RequireClientAuth: true}, []string{"global.tls.frontend.server", "no server certificate"}},
		{config.ServerTLS{CertFile: certFile, KeyFile: keyFile, RequireClientAuth: true},
			[]string{"global.tls.frontend.server.requireClientAuth", "no client CA"}},
		{config.ServerTLS{CertFile: certFile, KeyFile: keyFile, CertData: "eA=="}, []string{"not both"}},
		{config.ServerTLS{CertData: "%%%", KeyData: "eA=="}, []string{"global.tls.frontend.server.certData", "base64"}},
		{config.ServerTLS{CertFile: keyFile, KeyFile: certFile}, []string{"global.tls.frontend.server: certificate and key"}},
	} {
		_, err := New(Options{Key: "global.tls.frontend", Group: config.GroupTLS{Server: tc.s}})
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: err %v, want it to contain %q", tc.s, err, w)
			}
		}
	}
	_, err := New(Options{Key: "global.tls.frontend", Group: config.GroupTLS{
		Server:        config.ServerTLS{CertFile: certFile, KeyFile: keyFile},
		HostOverrides: map[string]config.ServerTLS{"a.example": {CertFile: missing, KeyFile: keyFile}}}})
	if err == nil || !strings.Contains(err.Error(), "global.tls.frontend.hostOverrides.a.example.certFile") {
		t.Errorf("missing override file: %v", err)
	}
}

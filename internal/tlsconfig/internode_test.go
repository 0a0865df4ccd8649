package tlsconfig

import (
	"path/filepath"
	"testing"

	"github.com/sundialhq/sundial/internal/config"
	"github.com/sundialhq/sundial/internal/tlsconfig/certtest"
)

// Internode TLS: every host serves and dials with the same group; the
// dialing side verifies the server against rootCaFiles and presents the
// group's certificate, which the serving side requires.
func TestInternodeClientConfig(t *testing.T) {
	ca, other := certtest.NewCA(t, "node-ca"), certtest.NewCA(t, "other-ca")
	dir := t.TempDir()
	certFile, keyFile := ca.Node(t).WriteFiles(t, dir, "node")
	caFile := filepath.Join(dir, "ca.pem")
	certtest.WriteFile(t, caFile, ca.CertPEM)
	group := config.GroupTLS{
		Server: config.ServerTLS{CertFile: certFile, KeyFile: keyFile, ClientCAFiles: []string{caFile}, RequireClientAuth: true},
		Client: config.ClientTLS{RootCAFiles: []string{caFile}, ServerName: "localhost"},
	}
	p, err := New(Options{Group: group, Key: "global.tls.internode"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr := serve(t, p)

	cfg, err := p.ClientConfig(group.Client, "global.tls.internode.client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, cfg); err != nil {
		t.Fatalf("internode handshake: %v", err)
	}

	// The server's certificate must chain to the root CAs.
	otherFile := filepath.Join(dir, "other.pem")
	certtest.WriteFile(t, otherFile, other.CertPEM)
	wrongRoots, err := p.ClientConfig(config.ClientTLS{RootCAFiles: []string{otherFile}, ServerName: "localhost"}, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, wrongRoots); err == nil {
		t.Fatal("a server certificate from another CA was accepted")
	}

	// The name is checked unless disableHostVerification; the chain always.
	wrongName, _ := p.ClientConfig(config.ClientTLS{RootCAFiles: []string{caFile}, ServerName: "elsewhere"}, "k")
	if _, err := dial(addr, wrongName); err == nil {
		t.Fatal("a server certificate for another name was accepted")
	}
	noNameCheck, _ := p.ClientConfig(config.ClientTLS{RootCAFiles: []string{caFile}, ServerName: "elsewhere",
		DisableHostVerification: true}, "k")
	if _, err := dial(addr, noNameCheck); err != nil {
		t.Fatalf("disableHostVerification: %v", err)
	}
	noNameWrongRoots, _ := p.ClientConfig(config.ClientTLS{RootCAFiles: []string{otherFile},
		DisableHostVerification: true}, "k")
	if _, err := dial(addr, noNameWrongRoots); err == nil {
		t.Fatal("disableHostVerification accepted a certificate from another CA")
	}

	// A dialer without the group's certificate is refused by the server.
	if _, err := dial(addr, clientConfig(ca, nil, t)); err == nil {
		t.Fatal("a client with no certificate was accepted")
	}

	if _, err := p.ClientConfig(config.ClientTLS{RootCAFiles: []string{filepath.Join(dir, "missing.pem")}},
		"global.tls.internode.client"); err == nil {
		t.Fatal("a missing root CA file was accepted")
	}
}

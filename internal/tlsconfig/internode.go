package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/sundialhq/sundial/internal/config"
)

// ClientConfig is the dialing side of an internode TLS group: it checks
// the server's certificate against c's root CAs (the system's when none
// is given), expecting c.serverName (else the dialed host) unless
// c.disableHostVerification, and presents the group's own default
// certificate as its client certificate (the hosts of a cluster share the
// group, so each is both server and client to the others), current at
// each handshake.
func (p *Provider) ClientConfig(c config.ClientTLS, key string) (*tls.Config, error) {
	roots, err := readRootCAs(c, key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: GRPC,
		RootCAs:    roots,
		ServerName: c.ServerName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert := p.cur.Load().def.cert
			return &cert, nil
		},
	}
	if c.DisableHostVerification {
		// The chain is still verified; only the name is not.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("internode TLS: the server presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// readRootCAs is the pool of c's root CAs; nil (the system roots) when it
// names none.
func readRootCAs(c config.ClientTLS, key string) (*x509.CertPool, error) {
	pool, n := x509.NewCertPool(), 0
	add := func(name string, pem []byte, err error) error {
		if err != nil {
			return err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate in it", name)
		}
		n++
		return nil
	}
	for i, path := range c.RootCAFiles {
		if strings.TrimSpace(path) == "" {
			continue
		}
		name := fmt.Sprintf("%s.rootCaFiles[%d]", key, i)
		pem, err := readFile(name, path)
		if err := add(name+" "+path, pem, err); err != nil {
			return nil, err
		}
	}
	for i, d := range c.RootCAData {
		if strings.TrimSpace(d) == "" {
			continue
		}
		name := fmt.Sprintf("%s.rootCaData[%d]", key, i)
		pem, err := decodeData(name, d)
		if err := add(name, pem, err); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, nil
	}
	return pool, nil
}

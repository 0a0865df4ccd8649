// Package tlsconfig serves TLS on Sundial's listeners from Temporal's
// `global.tls` configuration: a server certificate (and one per SNI name
// in hostOverrides), the client CAs that verify client certificates, and
// certificate files re-read every refresh interval so that rotated files
// are picked up with no restart.
//
// TLS belongs to the listener (Listener): whatever is served on a wrapped
// listener speaks TLS only, so no setting can leave a public port in
// plaintext.
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/config"
)

// ALPN protocols offered by a listener.
var (
	// GRPC is gRPC's protocol (HTTP/2); gRPC clients refuse a connection
	// that does not negotiate it.
	GRPC = []string{"h2"}
	// HTTP serves HTTP/2 and HTTP/1.1.
	HTTP = []string{"h2", "http/1.1"}
)

// Options configures a Provider.
type Options struct {
	// Group is the TLS group served, e.g. global.tls.frontend.
	Group config.GroupTLS
	// Key names the group in errors, e.g. "global.tls.frontend".
	Key string
	// RefreshInterval re-reads the certificate files this often
	// (global.tls.refreshInterval); 0 reads them once.
	RefreshInterval time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Enabled reports whether g configures its serving side. A group that
// sets anything there (even only requireClientAuth) must serve TLS, or
// New refuses it; it is never ignored.
func Enabled(g config.GroupTLS) bool {
	return serverSet(g.Server) || len(g.HostOverrides) > 0
}

// Provider holds the current certificates of one TLS group and hands
// them to every new connection. Safe for concurrent use.
type Provider struct {
	opts Options
	cur  atomic.Pointer[material]
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// material is one loaded generation of the group's certificates.
type material struct {
	def   *identity
	hosts map[string]*identity // by lower-cased SNI name
}

// identity is what the server presents to, and asks of, one client.
type identity struct {
	cert       tls.Certificate
	clientCAs  *x509.CertPool
	clientAuth tls.ClientAuthType
}

// New loads the group's certificates and, when RefreshInterval is set and
// some come from files, keeps re-reading them until Close. Any problem
// (a missing file, a key that does not match its certificate, client
// authentication with no CA to check against) is an error naming the
// config key and, for files, the path.
func New(o Options) (*Provider, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	m, err := load(o.Group, o.Key)
	if err != nil {
		return nil, err
	}
	m.warnExpired(o.Logger, o.Key, time.Now())
	p := &Provider{opts: o, stop: make(chan struct{}), done: make(chan struct{})}
	p.cur.Store(m)
	if o.RefreshInterval > 0 && usesFiles(o.Group) {
		go p.refresh()
	} else {
		close(p.done)
	}
	return p, nil
}

// Close stops the refresh; connections keep the certificates they have.
func (p *Provider) Close() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

// Listener wraps lis so that every accepted connection is TLS, with the
// certificates current at its handshake. nextProtos are the ALPN
// protocols offered (GRPC or HTTP).
func (p *Provider) Listener(lis net.Listener, nextProtos []string) net.Listener {
	return tls.NewListener(lis, p.Config(nextProtos))
}

// Config is a server tls.Config choosing, per handshake, the identity for
// the client's SNI name (hostOverrides) or the default one.
func (p *Provider) Config(nextProtos []string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			m := p.cur.Load()
			id := m.def
			if o, ok := m.hosts[strings.ToLower(hello.ServerName)]; ok {
				id = o
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				NextProtos:   nextProtos,
				Certificates: []tls.Certificate{id.cert},
				ClientAuth:   id.clientAuth,
				ClientCAs:    id.clientCAs,
			}, nil
		},
	}
}

// refresh re-reads the files every RefreshInterval. A failed read keeps
// the previous certificates (a rotation caught half-written is retried
// at the next tick) and is logged.
func (p *Provider) refresh() {
	defer close(p.done)
	t := time.NewTicker(p.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		m, err := load(p.opts.Group, p.opts.Key)
		if err != nil {
			p.opts.Logger.Error("TLS certificates not reloaded; still serving the previous ones", "error", err)
			continue
		}
		if old := p.cur.Swap(m); !old.same(m) {
			p.opts.Logger.Info("TLS certificates reloaded", "group", p.opts.Key)
			m.warnExpired(p.opts.Logger, p.opts.Key, time.Now())
		}
	}
}

// same reports whether m and n present the same certificates and trust
// the same client CAs.
func (m *material) same(n *material) bool {
	if len(m.hosts) != len(n.hosts) || !m.def.same(n.def) {
		return false
	}
	for h, id := range m.hosts {
		if !id.same(n.hosts[h]) {
			return false
		}
	}
	return true
}

func (id *identity) same(o *identity) bool {
	if o == nil || len(id.cert.Certificate) != len(o.cert.Certificate) || id.clientAuth != o.clientAuth {
		return false
	}
	for i := range id.cert.Certificate {
		if !bytes.Equal(id.cert.Certificate[i], o.cert.Certificate[i]) {
			return false
		}
	}
	return (id.clientCAs == nil) == (o.clientCAs == nil) && (id.clientCAs == nil || id.clientCAs.Equal(o.clientCAs))
}

// warnExpired logs served certificates that are expired or not valid yet:
// clients will refuse them, but the operator may be mid-rotation.
func (m *material) warnExpired(log *slog.Logger, key string, now time.Time) {
	check := func(name string, id *identity) {
		if leaf := id.cert.Leaf; leaf != nil && (now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)) {
			log.Warn("TLS server certificate is not valid now; clients will refuse it", "key", name,
				"notBefore", leaf.NotBefore, "notAfter", leaf.NotAfter)
		}
	}
	check(key+".server", m.def)
	names := make([]string, 0, len(m.hosts))
	for h := range m.hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		check(key+".hostOverrides."+h, m.hosts[h])
	}
}

// load reads every certificate of g. The default identity is required:
// hostOverrides only replace it for their SNI names.
func load(g config.GroupTLS, key string) (*material, error) {
	def, err := loadIdentity(g.Server, key+".server")
	if err != nil {
		return nil, err
	}
	m := &material{def: def, hosts: map[string]*identity{}}
	for name, s := range g.HostOverrides {
		okey := key + ".hostOverrides." + name
		if name == "" {
			return nil, fmt.Errorf("%s: empty host name", okey)
		}
		id, err := loadIdentity(s, okey)
		if err != nil {
			return nil, err
		}
		m.hosts[strings.ToLower(name)] = id
	}
	return m, nil
}

// loadIdentity reads one server block. Client certificates are required
// (and verified) with requireClientAuth, which needs a client CA; with
// client CAs but no requireClientAuth a certificate is optional but, when
// sent, must verify against them.
func loadIdentity(s config.ServerTLS, key string) (*identity, error) {
	certPEM, keyPEM, err := readPair(s, key)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: certificate and key: %w", key, err)
	}
	id := &identity{cert: cert, clientAuth: tls.NoClientCert}
	pool, n, err := readCAs(s, key)
	if err != nil {
		return nil, err
	}
	switch {
	case s.RequireClientAuth && n == 0:
		return nil, fmt.Errorf("%s.requireClientAuth: no client CA to verify client certificates with "+
			"(set %s.clientCaFiles or %s.clientCaData)", key, key, key)
	case s.RequireClientAuth:
		id.clientAuth, id.clientCAs = tls.RequireAndVerifyClientCert, pool
	case n > 0:
		id.clientAuth, id.clientCAs = tls.VerifyClientCertIfGiven, pool
	}
	return id, nil
}

// readPair returns the PEM certificate and key of s, from files or from
// base64 inline data (Temporal's certData/keyData).
func readPair(s config.ServerTLS, key string) (certPEM, keyPEM []byte, err error) {
	files := s.CertFile != "" || s.KeyFile != ""
	data := s.CertData != "" || s.KeyData != ""
	switch {
	case files && data:
		return nil, nil, fmt.Errorf("%s: set certFile and keyFile, or certData and keyData, not both", key)
	case !files && !data:
		return nil, nil, fmt.Errorf("%s: no server certificate: set certFile and keyFile (or certData and keyData); "+
			"TLS settings without one would leave the listener in plaintext", key)
	case files:
		if certPEM, err = readFile(key+".certFile", s.CertFile); err != nil {
			return nil, nil, err
		}
		keyPEM, err = readFile(key+".keyFile", s.KeyFile)
		return certPEM, keyPEM, err
	default:
		if certPEM, err = decodeData(key+".certData", s.CertData); err != nil {
			return nil, nil, err
		}
		keyPEM, err = decodeData(key+".keyData", s.KeyData)
		return certPEM, keyPEM, err
	}
}

// readCAs builds the client CA pool of s and counts its certificates.
// Blank entries are skipped (Temporal's docker template writes a list of
// one empty string when its variable is unset).
func readCAs(s config.ServerTLS, key string) (*x509.CertPool, int, error) {
	pool, n := x509.NewCertPool(), 0
	add := func(name string, pem []byte) error {
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate in it", name)
		}
		n++
		return nil
	}
	for i, path := range s.ClientCAFiles {
		if strings.TrimSpace(path) == "" {
			continue
		}
		name := fmt.Sprintf("%s.clientCaFiles[%d]", key, i)
		pem, err := readFile(name, path)
		if err == nil {
			err = add(name+" "+path, pem)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	for i, d := range s.ClientCAData {
		if strings.TrimSpace(d) == "" {
			continue
		}
		name := fmt.Sprintf("%s.clientCaData[%d]", key, i)
		pem, err := decodeData(name, d)
		if err == nil {
			err = add(name, pem)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return pool, n, nil
}

func readFile(key, path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%s is not set", key)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return b, nil
}

// decodeData decodes Temporal's inline form: base64 of the PEM text.
func decodeData(key, data string) ([]byte, error) {
	if data == "" {
		return nil, fmt.Errorf("%s is not set", key)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("%s: want base64-encoded PEM: %w", key, err)
	}
	return b, nil
}

// serverSet reports whether any serving-side key of s is set.
func serverSet(s config.ServerTLS) bool {
	return s.CertFile != "" || s.KeyFile != "" || s.CertData != "" || s.KeyData != "" || s.RequireClientAuth ||
		nonBlank(s.ClientCAFiles) || nonBlank(s.ClientCAData)
}

// usesFiles reports whether any certificate of g is read from a file.
func usesFiles(g config.GroupTLS) bool {
	f := func(s config.ServerTLS) bool { return s.CertFile != "" || s.KeyFile != "" || nonBlank(s.ClientCAFiles) }
	if f(g.Server) {
		return true
	}
	for _, s := range g.HostOverrides {
		if f(s) {
			return true
		}
	}
	return false
}

func nonBlank(list []string) bool {
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

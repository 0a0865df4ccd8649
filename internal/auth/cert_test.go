package auth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"slices"
	"testing"
)

func TestCertPrincipals(t *testing.T) {
	u, _ := url.Parse("spiffe://example.org/sa/w")
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "svc"}, DNSNames: []string{"a.example.org"}, URIs: []*url.URL{u}}
	got := CertPrincipals(c)
	want := []string{"cert-cn:svc", "cert-dns:a.example.org", "cert-uri:spiffe://example.org/sa/w"}
	if !slices.Equal(got, want) {
		t.Fatalf("CertPrincipals = %v, want %v", got, want)
	}
	for _, p := range want {
		if _, err := ParseBinding(p, "ns", "read"); err != nil {
			t.Errorf("ParseBinding(%q): %v", p, err)
		}
	}
	for _, bad := range []string{"cert-cn:", "cert:svc", "svc", "cert-uri:"} {
		if _, err := ParseBinding(bad, "ns", "read"); err == nil {
			t.Errorf("ParseBinding(%q) accepted", bad)
		}
	}
	// Bindings match certificate principals.
	b := NewBindings(nil, []Binding{{Principal: "cert-uri:spiffe://example.org/sa/w", Namespace: "ns", Role: RoleWriter}}, nil)
	cl := &Claims{Certificate: got}
	b.Apply(cl)
	if cl.Namespaces["ns"] != RoleWriter {
		t.Fatalf("claims after Apply: %+v", cl)
	}
}

package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sundialhq/sundial/internal/persistence"
)

// Principal prefixes of a role binding.
const (
	UserPrefix  = "user:"
	GroupPrefix = "group:"
)

// PrincipalPrefixes are the kinds of principal a binding can name.
var PrincipalPrefixes = []string{UserPrefix, GroupPrefix, CertCNPrefix, CertDNSPrefix, CertURIPrefix}

// PrincipalSyntax describes a principal, for messages and help.
const PrincipalSyntax = "user:SUBJECT, group:NAME, cert-cn:COMMON-NAME, cert-dns:DNS-NAME or cert-uri:URI"

// Binding grants Role in Namespace (SystemNamespace = cluster-wide) to a
// principal: "user:SUBJECT" (a token's sub), "group:NAME" (a name in a
// token's groups claim), or a verified client certificate's
// "cert-cn:COMMON-NAME", "cert-dns:DNS-SAN" or "cert-uri:URI-SAN".
type Binding struct {
	Principal string
	Namespace string
	Role      Role
}

// ParseBinding checks the parts of a binding as an operator writes them.
func ParseBinding(principal, namespace, role string) (Binding, error) {
	var name string
	ok := false
	for _, p := range PrincipalPrefixes {
		if name, ok = strings.CutPrefix(principal, p); ok {
			break
		}
	}
	if !ok || name == "" {
		return Binding{}, fmt.Errorf("principal %q: want %s", principal, PrincipalSyntax)
	}
	if namespace == "" {
		return Binding{}, fmt.Errorf("namespace is empty (use %s for cluster-wide)", SystemNamespace)
	}
	r, ok := ParseRole(role)
	if !ok {
		return Binding{}, fmt.Errorf("role %q: want read, write, worker or admin", role)
	}
	return Binding{Principal: principal, Namespace: namespace, Role: r}, nil
}

// Bindings is the set of role bindings in force: those of the config
// (fixed) plus those stored in the database, read again by Reload (after a
// grant or revoke through this process) and every poll interval (to see
// changes made through other processes). A reload that fails keeps the
// previous set.
type Bindings struct {
	store  persistence.RBACStore
	static []Binding
	log    *slog.Logger

	mu    sync.RWMutex
	byKey map[string][]Binding // by principal
}

// NewBindings returns the bindings of static and store (nil: none stored).
func NewBindings(store persistence.RBACStore, static []Binding, log *slog.Logger) *Bindings {
	if log == nil {
		log = slog.Default()
	}
	b := &Bindings{store: store, static: static, log: log}
	b.set(nil)
	return b
}

func (b *Bindings) set(stored []Binding) {
	m := map[string][]Binding{}
	for _, x := range append(append([]Binding(nil), b.static...), stored...) {
		m[x.Principal] = append(m[x.Principal], x)
	}
	b.mu.Lock()
	b.byKey = m
	b.mu.Unlock()
}

// Reload reads the stored bindings again. A stored binding whose role the
// server does not know is skipped with a warning.
func (b *Bindings) Reload(ctx context.Context) error {
	if b.store == nil {
		return nil
	}
	rows, err := b.store.ListRoleBindings(ctx)
	if err != nil {
		return err
	}
	var stored []Binding
	for _, r := range rows {
		x, err := ParseBinding(r.Principal, r.Namespace, r.Role)
		if err != nil {
			b.log.Warn("skipping stored role binding", "error", err)
			continue
		}
		stored = append(stored, x)
	}
	b.set(stored)
	return nil
}

// Run reloads every interval until ctx ends.
func (b *Bindings) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.Reload(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("reloading role bindings", "error", err)
			}
		}
	}
}

// Apply implements BindingSource: it grants c the roles bound to its
// subject, its groups and its client certificate's principals.
func (b *Bindings) Apply(c *Claims) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	grant := func(principal string) {
		for _, x := range b.byKey[principal] {
			c.Grant(x.Namespace, x.Role)
		}
	}
	if c.Subject != "" {
		grant(UserPrefix + c.Subject)
	}
	for _, g := range c.Groups {
		grant(GroupPrefix + g)
	}
	for _, p := range c.Certificate {
		grant(p)
	}
}

// Static returns the bindings of the config.
func (b *Bindings) Static() []Binding { return append([]Binding(nil), b.static...) }

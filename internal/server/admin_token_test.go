package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The admin token is written 0600 (its directory created 0700) and every
// request without it, or with another, is refused.
func TestAdminToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "admin.token")
	tok, err := newAdminToken(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) != tok || len(tok) != 64 {
		t.Fatalf("token file %q (%v), token %q", b, err, tok)
	}
	for path, want := range map[string]os.FileMode{file: 0o600, filepath.Dir(file): 0o700} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, want)
		}
	}
	h := requireAdminToken(tok, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for header, want := range map[string]int{
		"":                    http.StatusUnauthorized,
		"Bearer nope":         http.StatusUnauthorized,
		tok:                   http.StatusUnauthorized,
		"Bearer " + tok:       http.StatusNoContent,
		"Bearer " + tok + " ": http.StatusUnauthorized,
	} {
		r := httptest.NewRequest(http.MethodGet, "/admin/rbac", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Authorization %q: %d, want %d", header, w.Code, want)
		}
	}
	if other, _ := newAdminToken(""); other == tok || other == "" {
		t.Errorf("a second token %q", other)
	}
}

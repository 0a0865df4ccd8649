package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// The admin endpoint's authentication: a random token made at each start,
// sent as "Authorization: Bearer TOKEN". The server writes it to
// Config.AdminTokenFile (mode 0600, in a directory only its user can
// enter when it creates it), so only the operator account that runs the
// server (or root) can use the endpoint, even from another local
// account; `sundial admin|rbac|audit` read it from there.

// DefaultAdminTokenFile is where `sundial server` and `start-dev` write
// the token of an admin endpoint on port, and where the CLI looks for it:
// $XDG_CONFIG_HOME/sundial/admin-PORT.token (~/.config on Linux).
func DefaultAdminTokenFile(port int) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the admin token file (set --admin-token-file): %w", err)
	}
	return filepath.Join(dir, "sundial", "admin-"+strconv.Itoa(port)+".token"), nil
}

// newAdminToken makes a token and writes it to file (when set),
// atomically and readable by the owner only.
func newAdminToken(file string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	if file == "" {
		return tok, nil
	}
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("admin token file %s: %w", file, err)
	}
	tmp, err := os.CreateTemp(dir, ".admin-token-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("admin token file %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(tok + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		return "", fmt.Errorf("admin token file %s: %w", file, err)
	}
	return tok, nil
}

// requireAdminToken answers 401 to a request without the token.
func requireAdminToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sundial-admin"`)
			http.Error(w, "admin endpoint: missing or wrong token (send Authorization: Bearer TOKEN, TOKEN from the server's admin token file)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// AdminToken is the admin endpoint's token ("" when it is off).
func (s *Server) AdminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminToken
}

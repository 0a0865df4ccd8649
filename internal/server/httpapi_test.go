package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// With HTTPAddress set the HTTP API answers; Stop closes its port. Without
// it nothing listens.
func TestHTTPAPIStartStop(t *testing.T) {
	off, _ := startServer(t, Config{})
	if off.HTTPAddr() != "" {
		t.Fatalf("HTTPAddr %q without HTTPAddress", off.HTTPAddr())
	}
	s, _ := startServer(t, Config{HTTPAddress: "127.0.0.1:0"})
	addr := s.HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/system-info", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"serverVersion":"`+TemporalVersion+`"`) {
		t.Fatalf("system-info: %d %s", resp.StatusCode, body)
	}
	s.Stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
}

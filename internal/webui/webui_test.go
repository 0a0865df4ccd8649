package webui

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The UI is served under its public path, with Sundial's settings, and
// Stop releases the port.
func TestServeSettingsAndStop(t *testing.T) {
	s, err := Start(Options{Address: "127.0.0.1:0", FrontendAddress: "127.0.0.1:1", PublicPath: "/ui", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/ui") {
		t.Fatalf("URL = %q", s.URL())
	}
	code, body := get(t, s.URL()+"/")
	if code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	code, body = get(t, s.URL()+"/api/v1/settings")
	var settings struct {
		DefaultNamespace     string
		BatchActionsDisabled bool
		DisableWriteActions  bool
		Version              string
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &settings) != nil {
		t.Fatalf("settings: %d %s", code, body)
	}
	if settings.DefaultNamespace != "default" || settings.BatchActionsDisabled || settings.DisableWriteActions ||
		settings.Version != UIVersion {
		t.Fatalf("settings = %+v", settings)
	}
	addr := s.Addr()
	s.Stop()
	s.Stop()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still held after Stop: %v", err)
	}
	_ = lis.Close()
}

// A busy port is an error from Start, not an exit of the process.
func TestBusyPort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	_, err = Start(Options{Address: lis.Addr().String(), FrontendAddress: "127.0.0.1:1", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "ui listener") {
		t.Fatalf("Start on a busy port = %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{
		{Address: "nope", FrontendAddress: "127.0.0.1:7233"},
		{Address: "127.0.0.1:65536", FrontendAddress: "127.0.0.1:7233"},
		{Address: "127.0.0.1:0", FrontendAddress: ""},
		{Address: "127.0.0.1:0", FrontendAddress: "127.0.0.1:7233", PublicPath: "ui"},
		{Address: "127.0.0.1:0", FrontendAddress: "127.0.0.1:7233", PublicPath: "/ui/"},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
}

package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/config"
)

func TestUIFromStatic(t *testing.T) {
	base := Config{IP: "10.0.0.5", Port: 7400}
	got, err := uiFromStatic(&config.UI{}, base)
	if err != nil || got.Address != "10.0.0.5:8400" {
		t.Fatalf("defaults = %+v, %v; want the frontend's IP and port+1000", got, err)
	}
	got, err = uiFromStatic(&config.UI{BindOnIP: "0.0.0.0", Port: 8080, PublicPath: "/ui", DisableWriteActions: true}, base)
	if err != nil || *got != (UIConfig{Address: "0.0.0.0:8080", PublicPath: "/ui", DisableWriteActions: true}) {
		t.Fatalf("explicit = %+v, %v", got, err)
	}
	if got, err := uiFromStatic(nil, base); got != nil || err != nil {
		t.Fatalf("no ui block = %+v, %v; want off", got, err)
	}
	for _, bad := range []config.UI{{BindOnIP: "host"}, {Port: 70000}, {PublicPath: "ui"}} {
		ui, err := uiFromStatic(&bad, base)
		if err == nil {
			err = (Config{UI: ui}).Validate()
		}
		if err == nil {
			t.Errorf("ui %+v accepted", bad)
		}
	}
}

func TestParseUIBlock(t *testing.T) {
	st, err := config.Parse("t.yaml", []byte(`
persistence:
  defaultStore: db
  datastores:
    db:
      sql: {pluginName: sqlite, databaseName: ":memory:"}
ui:
  port: 9000
  publicPath: /ui
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromStatic(st)
	if err != nil || cfg.UI == nil || cfg.UI.Address != "127.0.0.1:9000" || cfg.UI.PublicPath != "/ui" {
		t.Fatalf("FromStatic = %+v, %v", cfg.UI, err)
	}
}

// The server serves the UI on its own listener, and the UI reaches the
// frontend: its cluster-info API call answers with the server version.
func TestServerServesUI(t *testing.T) {
	s, _ := startServer(t, Config{UI: &UIConfig{Address: "127.0.0.1:0"}})
	url := s.UIURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("UIURL = %q", url)
	}
	resp, err := http.Get(url + "/api/v1/cluster-info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"serverVersion": "1.31.0"`) {
		t.Fatalf("cluster-info through the UI: %d %s", resp.StatusCode, body.String())
	}
}

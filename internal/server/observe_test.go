package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/config"
)

const observabilityYAML = `
persistence: {defaultStore: x, datastores: {x: {sql: {pluginName: sqlite, databaseName: ":memory:"}}}}
global:
  metrics:
    prometheus: {listenAddress: "127.0.0.1:0", handlerPath: /prom}
  pprof: {port: 7936}
`

// global.metrics.prometheus and global.pprof.port reach the server
// config; the server then serves metrics at the configured path.
func TestObservabilityConfig(t *testing.T) {
	st, err := config.Parse("t.yaml", []byte(observabilityYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromStatic(st)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddress != "127.0.0.1:0" || cfg.MetricsPath != "/prom" || cfg.PProfAddress != "localhost:7936" {
		t.Fatalf("config %q %q %q", cfg.MetricsAddress, cfg.MetricsPath, cfg.PProfAddress)
	}
	cfg.PProfAddress = "127.0.0.1:0" // a free port for the test
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !strings.HasSuffix(s.MetricsURL(), "/prom") {
		t.Fatalf("MetricsURL %q", s.MetricsURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.MetricsURL(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"numshards_gauge", "persistence_requests", "num_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics page lacks %s", want)
		}
	}

	bad := strings.Replace(observabilityYAML, `"127.0.0.1:0"`, `"9090"`, 1)
	st, err = config.Parse("t.yaml", []byte(bad), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromStatic(st); err == nil || !strings.Contains(err.Error(), "listenAddress") {
		t.Errorf("listenAddress without a port: %v", err)
	}
}

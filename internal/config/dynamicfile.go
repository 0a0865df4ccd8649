package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

// dynamicEntry is one constrained value of a dynamic-config file.
type dynamicEntry struct {
	Value       any            `yaml:"value"`
	Constraints map[string]any `yaml:"constraints"`
}

// LoadDynamicFile reads a dynamic-config file in Temporal's format,
// `key: [{value: V, constraints: {namespace: N, …}}]`, and returns each
// key's unconstrained value. Constrained values are skipped until
// constraints are supported. Numbers decode as int or float64.
func LoadDynamicFile(path string) (map[string]any, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dynamic config: %w", err)
	}
	var doc map[string][]dynamicEntry
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("dynamic config %s: %w", path, err)
	}
	out := map[string]any{}
	for key, entries := range doc {
		for _, e := range entries {
			if len(e.Constraints) == 0 {
				out[key] = e.Value
			}
		}
	}
	return out, nil
}

// WatchDynamicFile re-reads path every interval (default 10 s) until ctx
// ends and sets the values that changed on d. A file that fails to read
// or parse is logged and the old values are kept. Keys removed from the
// file keep their last value until restart.
func WatchDynamicFile(ctx context.Context, d *Dynamic, path string, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		values, err := LoadDynamicFile(path)
		if err != nil {
			log.Warn("dynamic config not reloaded", "error", err)
			continue
		}
		for k, v := range values {
			if old, ok := d.get(k); !ok || !reflect.DeepEqual(old, v) {
				d.Set(k, v)
				if IsKnownKey(k) {
					log.Info("dynamic config changed", "key", k)
				} else {
					log.Warn("dynamic config key is not implemented by Sundial and is ignored", "key", k)
				}
			}
		}
	}
}

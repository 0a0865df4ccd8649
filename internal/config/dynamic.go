package config

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Dynamic holds dynamic-config values by Temporal's key names
// (e.g. "matching.longPollExpirationInterval"). Values may change while the
// server runs; readers call the typed getters each time they need a value.
// Constraints (per namespace / task queue) are a later addition.
type Dynamic struct {
	mu     sync.RWMutex
	values map[string]any
	names  map[string]string // lower-cased key -> the spelling it was set with
}

// NewDynamic returns a Dynamic seeded with values (may be nil).
func NewDynamic(values map[string]any) *Dynamic {
	d := &Dynamic{values: map[string]any{}, names: map[string]string{}}
	for k, v := range values {
		d.Set(k, v)
	}
	return d
}

// Set replaces one value.
func (d *Dynamic) Set(key string, v any) {
	d.mu.Lock()
	d.values[strings.ToLower(key)] = v
	d.names[strings.ToLower(key)] = key
	d.mu.Unlock()
}

// UnknownKeys lists, sorted and as spelled when set, the keys that hold a
// value but that Sundial never reads (see IsKnownKey), so the server can
// warn about settings that have no effect instead of ignoring them
// silently.
func (d *Dynamic) UnknownKeys() []string {
	if d == nil {
		return nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for lower, name := range d.names {
		if !knownKeys[lower] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// SetJSON parses a `KEY=JSON` pair as given to --dynamic-config-value.
func (d *Dynamic) SetJSON(pair string) error {
	k, raw, ok := strings.Cut(pair, "=")
	if !ok || k == "" {
		return fmt.Errorf("dynamic config value %q: want KEY=JSON", pair)
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fmt.Errorf("dynamic config value %q: value is not JSON: %w", pair, err)
	}
	d.Set(k, v)
	return nil
}

func (d *Dynamic) get(key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	v, ok := d.values[strings.ToLower(key)]
	return v, ok
}

// Duration reads a duration: a Go duration string ("10s") or a number of
// seconds. A missing or unparseable value gives def.
func (d *Dynamic) Duration(key string, def time.Duration) time.Duration {
	v, ok := d.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case time.Duration:
		return x
	case string:
		if p, err := time.ParseDuration(x); err == nil {
			return p
		}
	case float64:
		return time.Duration(x * float64(time.Second))
	case int:
		return time.Duration(x) * time.Second
	case int64:
		return time.Duration(x) * time.Second
	}
	return def
}

// Int reads an integer; def when missing or not a number.
func (d *Dynamic) Int(key string, def int) int {
	v, ok := d.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return def
}

// Bool reads a boolean; def when missing or not a bool.
func (d *Dynamic) Bool(key string, def bool) bool {
	if v, ok := d.get(key); ok {
		if b, ok := v.(bool); ok {
			return b
		}
	}
	return def
}

// Strings reads a list of strings (a JSON or YAML array). set is false
// when the key holds no value; err names the problem when the value is
// not a list of strings, so callers can choose a safe reading instead of
// silently taking the default.
func (d *Dynamic) Strings(key string) (vals []string, set bool, err error) {
	v, ok := d.get(key)
	if !ok {
		return nil, false, nil
	}
	switch x := v.(type) {
	case []string:
		return x, true, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, true, fmt.Errorf("dynamic config %s: item %d is %T, want a string", key, i, item)
			}
			out = append(out, s)
		}
		return out, true, nil
	}
	return nil, true, fmt.Errorf("dynamic config %s: value is %T, want a list of strings", key, v)
}

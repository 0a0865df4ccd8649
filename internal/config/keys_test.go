package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keyLiteral matches string literals shaped like Temporal dynamic-config
// keys.
var keyLiteral = regexp.MustCompile(`"((?:system|frontend|history|matching|limit|worker|visibility)\.[A-Za-z][A-Za-z0-9.]*)"`)

// Every key the code reads must be registered in knownKeys, or the server
// would warn that a working setting is ignored.
func TestKnownKeysCoverSource(t *testing.T) {
	found := 0
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			text, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range keyLiteral.FindAllStringSubmatch(string(text), -1) {
				found++
				if !IsKnownKey(m[1]) {
					t.Errorf("%s reads dynamic-config key %q, which is missing from knownKeys", path, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 20 {
		t.Fatalf("found only %d key literals; is the scan looking in the right place?", found)
	}
}

func TestUnknownKeys(t *testing.T) {
	d := NewDynamic(map[string]any{"limit.maxIDLength": 10, "frontend.rps": 5})
	if err := d.SetJSON("Matching.LongPollExpirationInterval=\"5s\""); err != nil {
		t.Fatal(err)
	}
	if err := d.SetJSON("no.such.key=1"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(d.UnknownKeys(), ",")
	if got != "frontend.rps,no.such.key" {
		t.Fatalf("UnknownKeys = %q", got)
	}
	if (*Dynamic)(nil).UnknownKeys() != nil {
		t.Fatal("nil Dynamic has no keys")
	}
}

// Keys from a dynamic-config file are checked like flag values.
func TestUnknownKeysFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dynamic.yaml")
	text := "limit.maxIDLength:\n  - value: 500\nfrontend.namespaceRPS:\n  - value: 10\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	values, err := LoadDynamicFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(NewDynamic(values).UnknownKeys(), ","); got != "frontend.namespaceRPS" {
		t.Fatalf("UnknownKeys = %q", got)
	}
}

func TestStrings(t *testing.T) {
	d := NewDynamic(map[string]any{"a": []any{"x", "y*"}, "b": "x", "c": []any{"x", 1}, "e": []any{}})
	if v, set, err := d.Strings("A"); err != nil || !set || strings.Join(v, ",") != "x,y*" {
		t.Fatalf("Strings(a) = %q, %v, %v", v, set, err)
	}
	if v, set, err := d.Strings("e"); err != nil || !set || len(v) != 0 {
		t.Fatalf("Strings(e) = %q, %v, %v", v, set, err)
	}
	if _, set, err := d.Strings("missing"); err != nil || set {
		t.Fatalf("Strings(missing) = %v, %v", set, err)
	}
	for _, k := range []string{"b", "c"} {
		if _, set, err := d.Strings(k); err == nil || !set {
			t.Fatalf("Strings(%s) accepted a value that is not a list of strings", k)
		}
	}
}

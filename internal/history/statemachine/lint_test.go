package statemachine

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPurity keeps the state machine free of I/O, the clock and randomness:
// time and IDs are inputs.
func TestPurity(t *testing.T) {
	forbiddenImports := []string{"database/sql", "math/rand", "crypto/rand", "os", "net", "net/http", "github.com/google/uuid", "log/slog"}
	forbiddenCalls := []string{"time.Now(", "time.Since(", "time.Sleep(", "time.After(", "time.NewTimer("}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			for _, bad := range forbiddenImports {
				if strings.Trim(imp.Path.Value, `"`) == bad {
					t.Errorf("%s imports %s", f, bad)
				}
			}
		}
		for _, call := range forbiddenCalls {
			if strings.Contains(string(src), call) {
				t.Errorf("%s calls %s", f, call)
			}
		}
	}
}
